"""SVHN cropped digits (format 2) from the ``.mat`` files of the release.

``<root>/svhn/{train,test,extra}_32x32.mat``; each holds ``X``, uint8 of shape
(32, 32, 3, N), and ``y``, (N, 1) labels 1..10 where 10 stands for the digit 0.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from dabench.data.base import TensorImageDataset
from dabench.data.pairs import DataContext
from dabench.data.sources.common import (
    DIGIT_CLASSES,
    DataCorruptError,
    check_shape,
    check_split,
    ensure_files,
    one_line,
    to_unit_images,
)

log = logging.getLogger(__name__)

SVHN_DIR = "svhn"
_SPLITS = ("train", "test", "extra")
LAYOUT = tuple(f"{SVHN_DIR}/{s}_32x32.mat" for s in _SPLITS)


def svhn_files(split: str) -> list[str]:
    """Paths, relative to the data root, that ``split`` needs."""
    check_split(split, _SPLITS)
    return [f"{SVHN_DIR}/{split}_32x32.mat"]


def _download(ctx: DataContext, split: str) -> None:
    from torchvision.datasets import SVHN

    SVHN(str(ctx.root / SVHN_DIR), split=split, download=True)


def load_svhn(
    ctx: DataContext,
    split: str = "train",
    size: int | None = None,
    channels: int | None = None,
) -> TensorImageDataset:
    """SVHN ``split`` ("train", "test" or "extra") in memory (3x32x32 native);
    label 10 becomes digit 0."""
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    check_shape(size, channels)
    (path,) = ensure_files(
        ctx,
        svhn_files(split),
        "SVHN",
        lambda: _download(ctx, split),
        f"place {split}_32x32.mat in {ctx.root / SVHN_DIR}",
    )
    try:
        mat = loadmat(path)
        x, y = mat["X"], mat["y"]
    except (
        MatReadError,
        ValueError,
        OSError,
        KeyError,
        TypeError,
        IndexError,
        NotImplementedError,
    ) as e:
        raise DataCorruptError(
            f"corrupt SVHN file {path} ({one_line(e)}); delete it and fetch it again"
        ) from e
    y = np.asarray(y, dtype=np.int64).reshape(-1)
    if x.ndim != 4 or x.shape[2] != 3 or x.shape[3] != len(y):
        raise DataCorruptError(
            f"corrupt SVHN file {path}: X has shape {x.shape} and y {len(y)} labels, "
            "expected (H, W, 3, N) and N"
        )
    if len(y) and (y.min() < 1 or y.max() > 10):
        raise DataCorruptError(f"corrupt SVHN file {path}: labels outside 1..10")
    y[y == 10] = 0
    images = np.ascontiguousarray(np.asarray(x, dtype=np.uint8).transpose(3, 2, 0, 1))
    log.info("SVHN %s: %d images", split, len(y))
    return TensorImageDataset(
        to_unit_images(images, size, channels), torch.from_numpy(y), list(DIGIT_CLASSES)
    )
