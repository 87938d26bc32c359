"""STL-10 from its binary release (the layout torchvision downloads).

``<root>/stl10_binary/`` holds ``{train,test}_X.bin``: raw uint8 images of
3x96x96, each channel stored column-major (Fortran order, as MATLAB writes
it), so a plain (N, 3, 96, 96) reshape yields (N, C, W, H) and needs a
transpose; ``{train,test}_y.bin``: one uint8 label 1..10 per image; and
``class_names.txt``: one class name per line.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from dabench.data.base import TensorImageDataset
from dabench.data.pairs import DataContext
from dabench.data.sources.common import (
    DataCorruptError,
    check_shape,
    check_split,
    ensure_files,
    to_unit_images,
)

log = logging.getLogger(__name__)

STL10_DIR = "stl10_binary"
_SIDE = 96
_IMAGE_BYTES = 3 * _SIDE * _SIDE
_CLASS_NAMES = "class_names.txt"
_SPLITS = ("train", "test")
LAYOUT = tuple(
    f"{STL10_DIR}/{name}"
    for name in ("train_X.bin", "train_y.bin", "test_X.bin", "test_y.bin", _CLASS_NAMES)
)


def stl10_files(split: str) -> list[str]:
    """Paths, relative to the data root, that ``split`` needs."""
    check_split(split, _SPLITS)
    return [
        f"{STL10_DIR}/{split}_X.bin",
        f"{STL10_DIR}/{split}_y.bin",
        f"{STL10_DIR}/{_CLASS_NAMES}",
    ]


def _read_images(path: Path) -> np.ndarray:
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % _IMAGE_BYTES:
        raise DataCorruptError(
            f"corrupt STL-10 file {path}: {raw.size} bytes is not a whole number of "
            f"{_IMAGE_BYTES}-byte images; delete it and fetch it again"
        )
    # Column-major planes: the last two axes come out as (column, row).
    return raw.reshape(-1, 3, _SIDE, _SIDE).transpose(0, 1, 3, 2)


def _download(ctx: DataContext, split: str) -> None:
    from torchvision.datasets import STL10

    STL10(str(ctx.root), split=split, download=True)


def load_stl10(
    ctx: DataContext,
    split: str = "train",
    size: int | None = None,
    channels: int | None = None,
) -> TensorImageDataset:
    """STL-10 labelled ``split`` ("train" or "test") in memory (3x96x96 native)."""
    check_shape(size, channels)
    x_path, y_path, names_path = ensure_files(
        ctx,
        stl10_files(split),
        "STL-10",
        lambda: _download(ctx, split),
        f"extract stl10_binary.tar.gz so that {ctx.root / STL10_DIR} holds them",
    )
    classes = [line.strip() for line in names_path.read_text().splitlines() if line.strip()]
    x = _read_images(x_path)
    y = np.fromfile(y_path, dtype=np.uint8).astype(np.int64) - 1
    if len(y) != len(x):
        raise DataCorruptError(
            f"corrupt STL-10 split {split!r}: {len(x)} images in {x_path.name} "
            f"but {len(y)} labels in {y_path.name}"
        )
    if len(y) and (y.min() < 0 or y.max() >= len(classes)):
        raise DataCorruptError(
            f"corrupt STL-10 labels {y_path}: expected values 1..{len(classes)} "
            f"(one per line of {names_path.name})"
        )
    log.info("STL-10 %s: %d images", split, len(y))
    return TensorImageDataset(to_unit_images(x, size, channels), torch.from_numpy(y), classes)
