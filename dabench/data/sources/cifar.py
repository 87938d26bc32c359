"""CIFAR-10 from the python-pickle release, read by torchvision's ``CIFAR10``.

``<root>/cifar-10-batches-py/`` holds ``data_batch_1`` .. ``data_batch_5``
(train), ``test_batch`` and ``batches.meta``, as ``cifar-10-python.tar.gz``
extracts (and as torchvision downloads it). torchvision insists on all six
batches for either split, so dabench does too.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from torchvision.datasets import CIFAR10

from dabench.data.base import TensorImageDataset
from dabench.data.pairs import DataContext
from dabench.data.sources.common import (
    check_labels,
    check_shape,
    check_split,
    ensure_files,
    to_unit_images,
    torchvision_read,
)

log = logging.getLogger(__name__)

CIFAR10_DIR = CIFAR10.base_folder
_TRAIN = tuple(name for name, _ in CIFAR10.train_list)
_TEST = tuple(name for name, _ in CIFAR10.test_list)
_META = CIFAR10.meta["filename"]
LAYOUT = tuple(f"{CIFAR10_DIR}/{name}" for name in (*_TRAIN, *_TEST, _META))


class _CIFAR10Files(CIFAR10):
    """torchvision's reader without its md5 pass over all seven files on every
    load: dabench checks that they exist, and their checksums when it downloads
    them or runs `dabench data prepare`."""

    train_list = [[name, None] for name in _TRAIN]
    test_list = [[name, None] for name in _TEST]
    meta = {**CIFAR10.meta, "md5": None}


def cifar10_files(split: str) -> list[str]:
    """Paths, relative to the data root, that loading ``split`` needs."""
    check_split(split, ("train", "test"))
    return list(LAYOUT)


def _download(ctx: DataContext) -> None:
    CIFAR10(str(ctx.root), train=True, download=True)  # one archive holds both splits


def load_cifar10(
    ctx: DataContext,
    split: str = "train",
    size: int | None = None,
    channels: int | None = None,
) -> TensorImageDataset:
    """CIFAR-10 ``split`` ("train" or "test") as in-memory images (3x32x32 native)."""
    check_shape(size, channels)
    paths = ensure_files(
        ctx,
        cifar10_files(split),
        "CIFAR-10",
        lambda: _download(ctx),
        f"extract cifar-10-python.tar.gz so that {ctx.root / CIFAR10_DIR} holds them",
        archive=CIFAR10.filename,
    )
    read = [p for p in paths if p.name in (_TRAIN if split == "train" else _TEST) + (_META,)]
    ds = torchvision_read(
        "CIFAR-10", read, lambda: _CIFAR10Files(str(ctx.root), train=split == "train")
    )
    y = np.asarray(ds.targets, dtype=np.int64)
    check_labels("CIFAR-10", read[0].parent, y, 0, len(ds.classes) - 1)
    x = np.ascontiguousarray(ds.data.transpose(0, 3, 1, 2))  # torchvision keeps HWC
    log.info("CIFAR-10 %s: %d images", split, len(y))
    return TensorImageDataset(to_unit_images(x, size, channels), torch.from_numpy(y), ds.classes)
