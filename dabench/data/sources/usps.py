"""USPS handwritten digits in the bz2-compressed LIBSVM format torchvision downloads.

``<root>/usps.bz2`` (train, 7,291 images) and ``<root>/usps.t.bz2`` (test,
2,007). Each line is ``label idx:value ...``: labels 1..10 stand for the
digits 0..9, indices 1..256 walk a 16x16 image row by row, and values lie in
[-1, 1]. LIBSVM is a sparse format, so an absent index means the value 0.
"""

from __future__ import annotations

import bz2
import logging
from pathlib import Path

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

_SIDE = 16
_FILES = {"train": "usps.bz2", "test": "usps.t.bz2"}
LAYOUT = tuple(_FILES.values())


def usps_files(split: str) -> list[str]:
    """Paths, relative to the data root, that ``split`` needs."""
    check_split(split, tuple(_FILES))
    return [_FILES[split]]


def read_usps(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Parse a bz2 LIBSVM USPS file: float32 (N, 16, 16) in [-1, 1], int64 labels 0..9."""
    images: list[np.ndarray] = []
    labels: list[int] = []
    try:
        with bz2.open(path, "rt", encoding="ascii") as f:
            for lineno, line in enumerate(f, 1):
                parts = line.split()
                if not parts:
                    continue
                try:
                    image = np.zeros(_SIDE * _SIDE, dtype=np.float32)
                    for item in parts[1:]:
                        index, value = item.split(":")
                        i = int(index)
                        if not 1 <= i <= _SIDE * _SIDE:
                            raise ValueError(f"feature index {i} outside 1..{_SIDE * _SIDE}")
                        image[i - 1] = float(value)
                    label = int(float(parts[0]))
                except (ValueError, IndexError) as e:
                    raise DataCorruptError(
                        f"corrupt USPS file {path}, line {lineno}: {one_line(e)}"
                    ) from e
                if not 1 <= label <= 10:
                    raise DataCorruptError(
                        f"corrupt USPS file {path}, line {lineno}: label {label} outside 1..10"
                    )
                images.append(image)
                labels.append(label - 1)
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise DataCorruptError(
            f"corrupt USPS file {path} ({one_line(e)}); delete it and fetch it again"
        ) from e
    if not images:
        raise DataCorruptError(f"corrupt USPS file {path}: no samples")
    x = np.stack(images).reshape(-1, _SIDE, _SIDE)
    return x, np.asarray(labels, dtype=np.int64)


def _download(ctx: DataContext, split: str) -> None:
    from torchvision.datasets import USPS

    USPS(str(ctx.root), train=split == "train", download=True)


def load_usps(
    ctx: DataContext,
    split: str = "train",
    size: int | None = None,
    channels: int | None = None,
) -> TensorImageDataset:
    """USPS ``split`` ("train" or "test") in memory (1x16x16 native, values in [0, 1])."""
    check_shape(size, channels)
    (path,) = ensure_files(
        ctx,
        usps_files(split),
        "USPS",
        lambda: _download(ctx, split),
        f"place the LIBSVM file {_FILES[split]} in {ctx.root}",
    )
    x, y = read_usps(path)
    x01 = np.clip((x + 1.0) / 2.0, 0.0, 1.0)[:, None]
    log.info("USPS %s: %d images", split, len(y))
    return TensorImageDataset(
        to_unit_images(x01, size, channels), torch.from_numpy(y), list(DIGIT_CLASSES)
    )
