"""SVHN cropped digits (format 2), read by torchvision's ``SVHN``.

``<root>/svhn/{train,test,extra}_32x32.mat``, as released; torchvision maps
the release's label 10 to the digit 0.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from torchvision.datasets import SVHN

from dabench.data.base import TensorImageDataset
from dabench.data.pairs import DataContext
from dabench.data.sources.common import (
    DIGIT_CLASSES,
    DataCorruptError,
    check_labels,
    check_shape,
    check_split,
    ensure_files,
    refetch_hint,
    to_unit_images,
    torchvision_read,
)

log = logging.getLogger(__name__)

SVHN_DIR = "svhn"
_SPLITS = tuple(SVHN.split_list)
LAYOUT = tuple(f"{SVHN_DIR}/{SVHN.split_list[s][1]}" for s in _SPLITS)


class _SVHNFile(SVHN):
    """torchvision's reader, checking only that the file exists rather than
    hashing it on every load: checksums are verified on download and by
    `dabench data prepare`."""

    split_list = {k: [url, name, None] for k, (url, name, _) in SVHN.split_list.items()}


def svhn_files(split: str) -> list[str]:
    """Paths, relative to the data root, that ``split`` needs."""
    check_split(split, _SPLITS)
    return [f"{SVHN_DIR}/{SVHN.split_list[split][1]}"]


def _download(ctx: DataContext, split: str) -> None:
    SVHN(str(ctx.root / SVHN_DIR), split=split, download=True)


def load_svhn(
    ctx: DataContext,
    split: str = "train",
    size: int | None = None,
    channels: int | None = None,
) -> TensorImageDataset:
    """SVHN ``split`` ("train", "test" or "extra") in memory (3x32x32 native);
    label 10 becomes digit 0."""
    check_shape(size, channels)
    (path,) = ensure_files(
        ctx,
        svhn_files(split),
        "SVHN",
        lambda: _download(ctx, split),
        f"place {path_name(split)} in {ctx.root / SVHN_DIR}",
    )
    ds = torchvision_read("SVHN", [path], lambda: _SVHNFile(str(path.parent), split=split))
    y = np.asarray(ds.labels, dtype=np.int64).reshape(-1)
    x = np.ascontiguousarray(ds.data)  # torchvision already made it (N, 3, H, W)
    if x.ndim != 4 or x.shape[1] != 3 or len(x) != len(y):
        raise DataCorruptError(
            f"corrupt SVHN file {path}: X holds {x.shape[::-1]} and y {len(y)} labels, "
            f"expected (H, W, 3, N) and N; {refetch_hint([path])}"
        )
    check_labels("SVHN", path, y, 0, 9)
    log.info("SVHN %s: %d images", split, len(y))
    return TensorImageDataset(
        to_unit_images(x, size, channels), torch.from_numpy(y), list(DIGIT_CLASSES)
    )


def path_name(split: str) -> str:
    return SVHN.split_list[split][1]
