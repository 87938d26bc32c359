"""CIFAR-10 from the python-pickle release (the layout torchvision downloads).

``<root>/cifar-10-batches-py/`` holds ``data_batch_1`` .. ``data_batch_5``
(train, 10,000 images each), ``test_batch`` and ``batches.meta``. Each batch is
a pickled dict whose ``data`` is a uint8 (N, 3072) array, one row per image:
1,024 red, then 1,024 green, then 1,024 blue values, each plane row-major;
``labels`` is a list of ints; ``batches.meta`` holds ``label_names``. The
release was pickled by Python 2, so keys may come back as ``str`` or ``bytes``.
"""

from __future__ import annotations

import logging
import pickle
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
    one_line,
    to_unit_images,
)

log = logging.getLogger(__name__)

CIFAR10_DIR = "cifar-10-batches-py"
_BATCHES = {
    "train": tuple(f"data_batch_{i}" for i in range(1, 6)),
    "test": ("test_batch",),
}
_META = "batches.meta"
LAYOUT = tuple(f"{CIFAR10_DIR}/{name}" for name in (*_BATCHES["train"], "test_batch", _META))


def cifar10_files(split: str) -> list[str]:
    """Paths, relative to the data root, that ``split`` needs."""
    check_split(split, tuple(_BATCHES))
    return [f"{CIFAR10_DIR}/{name}" for name in (*_BATCHES[split], _META)]


def _text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _unpickle(path: Path) -> dict[str, object]:
    try:
        with open(path, "rb") as f:
            # latin1 is what NumPy arrays pickled by Python 2 need.
            obj = pickle.load(f, encoding="latin1")
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as e:
        raise DataCorruptError(
            f"corrupt CIFAR-10 file {path} ({one_line(e)}); delete it and fetch it again"
        ) from e
    if not isinstance(obj, dict):
        raise DataCorruptError(f"corrupt CIFAR-10 file {path}: expected a pickled dict")
    return {_text(k): v for k, v in obj.items()}


def _read_batch(path: Path, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    batch = _unpickle(path)
    if "data" not in batch or "labels" not in batch:
        raise DataCorruptError(f"corrupt CIFAR-10 batch {path}: no 'data'/'labels' entries")
    data = np.asarray(batch["data"], dtype=np.uint8)
    labels = np.asarray(batch["labels"], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(data) != len(labels):
        raise DataCorruptError(
            f"corrupt CIFAR-10 batch {path}: data {data.shape} and {len(labels)} labels, "
            "expected (N, 3072) and N"
        )
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise DataCorruptError(
            f"corrupt CIFAR-10 batch {path}: labels outside 0..{num_classes - 1}"
        )
    return data.reshape(-1, 3, 32, 32), labels


def _download(ctx: DataContext) -> None:
    from torchvision.datasets import CIFAR10

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
    )
    *batch_paths, meta_path = paths
    meta = _unpickle(meta_path)
    if "label_names" not in meta:
        raise DataCorruptError(f"corrupt CIFAR-10 file {meta_path}: no 'label_names' entry")
    classes = [_text(name) for name in meta["label_names"]]  # type: ignore[attr-defined]
    parts = [_read_batch(p, len(classes)) for p in batch_paths]
    x = np.concatenate([d for d, _ in parts])
    y = np.concatenate([t for _, t in parts])
    log.info("CIFAR-10 %s: %d images", split, len(y))
    return TensorImageDataset(to_unit_images(x, size, channels), torch.from_numpy(y), classes)
