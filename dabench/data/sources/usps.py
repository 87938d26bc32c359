"""USPS handwritten digits, read by torchvision's ``USPS``.

``<root>/usps.bz2`` (train, 7,291 images) and ``<root>/usps.t.bz2`` (test,
2,007): the bz2-compressed LIBSVM files torchvision downloads, one image per
line, ``label 1:v1 ... 256:v256`` with labels 1..10 for the digits 0..9 and
values in [-1, 1], row by row. torchvision reads the 256 values in order
(every line of the release lists all of them) and stores
``uint8((v + 1) / 2 * 255)``, truncating; dabench uses those bytes as every
torchvision-based codebase does (pair version 2; version 1 kept the floats).
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from torchvision.datasets import USPS

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

_FILES = {split: name for split, (_url, name, _md5) in USPS.split_list.items()}
LAYOUT = tuple(_FILES.values())


def usps_files(split: str) -> list[str]:
    """Paths, relative to the data root, that ``split`` needs."""
    check_split(split, tuple(_FILES))
    return [_FILES[split]]


def _download(ctx: DataContext, split: str) -> None:
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
    ds = torchvision_read("USPS", [path], lambda: USPS(str(ctx.root), train=split == "train"))
    y = np.asarray(ds.targets, dtype=np.int64)
    if not len(y):
        raise DataCorruptError(f"corrupt USPS file {path}: no samples; {refetch_hint([path])}")
    check_labels("USPS", path, y + 1, 1, 10)  # reported as stored: 1..10
    log.info("USPS %s: %d images", split, len(y))
    return TensorImageDataset(
        to_unit_images(ds.data[:, None], size, channels), torch.from_numpy(y), list(DIGIT_CLASSES)
    )
