"""STL-10 from its binary release, read by torchvision's ``STL10``.

``<root>/stl10_binary/`` holds ``{train,test}_X.bin``, ``{train,test}_y.bin``
(labels 1..10) and ``class_names.txt``, as ``stl10_binary.tar.gz`` extracts.
The 100,000 unlabelled images (``unlabeled_X.bin``) are not needed.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from torchvision.datasets import STL10

from dabench.data.base import TensorImageDataset
from dabench.data.pairs import DataContext
from dabench.data.sources.common import (
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

STL10_DIR = STL10.base_folder
_LABELLED = [name for name, _ in STL10.train_list[:2] + STL10.test_list]  # no unlabeled_X.bin
_CLASS_NAMES = STL10.class_names_file
_SPLITS = ("train", "test")
LAYOUT = tuple(f"{STL10_DIR}/{name}" for name in (*_LABELLED, _CLASS_NAMES))


class _STL10Files(STL10):
    """torchvision's reader, checking only that the labelled files exist: its
    own check hashes all five files on every load, the 2.6 GB unlabelled one
    included. Checksums are verified on download and by `dabench data prepare`."""

    train_list = [[name, None] for name in _LABELLED[:2]]
    test_list = [[name, None] for name in _LABELLED[2:]]


def stl10_files(split: str) -> list[str]:
    """Paths, relative to the data root, that loading ``split`` needs."""
    check_split(split, _SPLITS)
    return list(LAYOUT)


def _download(ctx: DataContext, split: str) -> None:
    STL10(str(ctx.root), split=split, download=True)


def load_stl10(
    ctx: DataContext,
    split: str = "train",
    size: int | None = None,
    channels: int | None = None,
) -> TensorImageDataset:
    """STL-10 labelled ``split`` ("train" or "test") in memory (3x96x96 native)."""
    check_shape(size, channels)
    paths = ensure_files(
        ctx,
        stl10_files(split),
        "STL-10",
        lambda: _download(ctx, split),
        f"extract stl10_binary.tar.gz so that {ctx.root / STL10_DIR} holds them",
        archive=STL10.filename,
    )
    x_path, y_path = (p for p in paths if p.name.startswith(f"{split}_"))
    names_path = paths[-1]
    ds = torchvision_read(
        "STL-10", [x_path, y_path], lambda: _STL10Files(str(ctx.root), split=split)
    )
    classes = [name.strip() for name in ds.classes if name.strip()]
    y = ds.labels.astype(np.int64)  # torchvision subtracts 1 from the stored 1..10
    if len(y) != len(ds.data):
        raise DataCorruptError(
            f"corrupt STL-10 split {split!r}: {len(ds.data)} images in {x_path.name} "
            f"but {len(y)} labels in {y_path.name}; {refetch_hint([x_path, y_path])}"
        )
    # uint8 arithmetic: a stored 0 wraps to 255, so one upper bound catches both ends.
    check_labels("STL-10", y_path, y, 0, len(classes) - 1)
    log.info("STL-10 %s: %d images (class names from %s)", split, len(y), names_path.name)
    return TensorImageDataset(to_unit_images(ds.data, size, channels), torch.from_numpy(y), classes)
