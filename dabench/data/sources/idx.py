"""MNIST and Fashion-MNIST from IDX files, plain or gzipped.

Extracted files, as torchvision's download leaves them, are read by
torchvision's IDX reader (``torchvision.datasets.mnist.read_image_file`` and
``read_label_file``, what its ``MNIST`` class calls), one split at a time: the
class itself is not used because it refuses to load one split unless all four
files of both are present. Gzipped files are read by :func:`read_idx`, our own
parser, because torchvision's reader opens only uncompressed files and Debian's
``dataset-fashion-mnist`` installs only the ``.gz`` files, outside any
torchvision layout; :func:`read_idx` also says what is wrong with a bad header
where torchvision's reader fails on a bare ``assert``.

An IDX file opens with a 4-byte magic number: two zero bytes, a type code
(0x08 = uint8, ...) and the number of dimensions; then one big-endian uint32
per dimension; then the values, big-endian, row-major. Images are
``(N, 28, 28)`` uint8, labels ``(N,)`` uint8.

Where the files are looked for, in order:

* MNIST: ``<root>/MNIST/raw/`` (torchvision's layout);
* Fashion-MNIST: ``<root>/FashionMNIST/raw/`` (torchvision's layout), then
  ``/usr/share/datasets/fashion-mnist/`` (Debian's ``dataset-fashion-mnist``,
  which installs the four files gzipped under their upstream names).
"""

from __future__ import annotations

import gzip
import logging
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from dabench.data.base import TensorImageDataset
from dabench.data.class_maps import FASHION_MNIST_CLASSES
from dabench.data.pairs import DataContext
from dabench.data.sources.common import (
    DIGIT_CLASSES,
    DataCorruptError,
    check_shape,
    check_split,
    missing_error,
    one_line,
    refetch_hint,
    run_download,
    to_unit_images,
    torchvision_read,
)

log = logging.getLogger(__name__)

# type code -> big-endian dtype
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_PREFIX = {"train": "train", "test": "t10k"}
MNIST_DIR = "MNIST/raw"
FASHION_MNIST_DIR = "FashionMNIST/raw"
DEBIAN_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")


def idx_names(split: str) -> tuple[str, str]:
    """The (images, labels) IDX file names of ``split``, without ``.gz``."""
    check_split(split, tuple(_PREFIX))
    p = _PREFIX[split]
    return f"{p}-images-idx3-ubyte", f"{p}-labels-idx1-ubyte"


LAYOUT_MNIST = tuple(f"{MNIST_DIR}/{n}[.gz]" for s in _PREFIX for n in idx_names(s))
LAYOUT_FASHION_MNIST = tuple(
    f"{FASHION_MNIST_DIR}/{n}[.gz]" for s in _PREFIX for n in idx_names(s)
) + tuple(f"{DEBIAN_FASHION_MNIST_DIR}/{n}.gz" for s in _PREFIX for n in idx_names(s))


def read_idx(path: Path, ndim: int | None = None) -> np.ndarray:
    """Parse one IDX file (gzipped if its name ends in ``.gz``), checking the
    magic number, the number of dimensions and that the sizes match the data."""
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError
        raise DataCorruptError(
            f"corrupt IDX file {path} ({one_line(e)}); {refetch_hint([path])}"
        ) from e

    def corrupt(why: str) -> DataCorruptError:
        return DataCorruptError(f"corrupt IDX file {path}: {why}; {refetch_hint([path])}")

    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise corrupt(f"bad magic number {raw[:4].hex() or '(empty file)'}")
    dims_n = raw[3]
    if ndim is not None and dims_n != ndim:
        raise corrupt(f"{dims_n} dimensions, expected {ndim}")
    header = 4 + 4 * dims_n
    if len(raw) < header:
        raise corrupt("truncated header")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=dims_n, offset=4))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise corrupt(f"header says shape {shape} ({expected} bytes), found {len(raw) - header}")
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))  # a writable, native-endian copy


def _read_pair(
    dataset_name: str, images_path: Path, labels_path: Path
) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 28, 28) uint8 and labels (N,) int64: torchvision's reader for
    extracted files, :func:`read_idx` for gzipped ones."""
    from torchvision.datasets.mnist import read_image_file, read_label_file

    def read(path: Path, ndim: int, tv_reader: Callable) -> np.ndarray:
        if path.suffix == ".gz":
            return read_idx(path, ndim=ndim)
        return torchvision_read(dataset_name, [path], lambda: tv_reader(str(path))).numpy()

    images = read(images_path, 3, read_image_file)
    labels = read(labels_path, 1, read_label_file).astype(np.int64)
    return images, labels


def _find(folders: Sequence[Path], names: Sequence[str]) -> list[Path] | None:
    """The first folder holding every file of ``names`` (plain preferred to .gz)."""
    for folder in folders:
        found = []
        for name in names:
            for candidate in (folder / name, folder / f"{name}.gz"):
                if candidate.is_file():
                    found.append(candidate)
                    break
        if len(found) == len(names):
            return found
    return None


def _load(
    ctx: DataContext,
    split: str,
    size: int | None,
    channels: int | None,
    *,
    dataset_name: str,
    folders: Sequence[Path],
    classes: Sequence[str],
    fetch: Callable[[], object],
    extra_hint: str = "",
) -> TensorImageDataset:
    check_shape(size, channels)
    names = idx_names(split)
    paths = _find(folders, names)
    if paths is None and ctx.download:
        run_download(dataset_name, fetch, ctx.root, [folders[0]])
        paths = _find(folders, names)
    if paths is None:
        primary = folders[0]
        where = " or ".join(str(f) for f in folders[1:])
        how = (
            "the download did not produce them" if ctx.download else "pass --download to fetch them"
        )
        raise missing_error(
            dataset_name,
            ctx.root,
            [f"{primary.relative_to(ctx.root)}/{n}[.gz]" for n in names],
            f"{how}, or place the IDX files in {primary}"
            + (f" (also looked in {where}{extra_hint})" if where else ""),
        )
    images_path, labels_path = paths
    images, labels = _read_pair(dataset_name, images_path, labels_path)
    if len(images) != len(labels):
        raise DataCorruptError(
            f"{dataset_name} {split}: {len(images)} images in {images_path} "
            f"but {len(labels)} labels in {labels_path}"
        )
    if len(labels) and (labels.min() < 0 or labels.max() >= len(classes)):
        raise DataCorruptError(
            f"corrupt IDX labels {labels_path}: values outside 0..{len(classes) - 1}"
        )
    log.info("%s %s: %d images from %s", dataset_name, split, len(labels), images_path.parent)
    x = to_unit_images(images.astype(np.uint8, copy=False)[:, None], size, channels)
    return TensorImageDataset(x, torch.from_numpy(labels), list(classes))


def load_mnist_idx(
    ctx: DataContext,
    split: str = "train",
    size: int | None = None,
    channels: int | None = None,
) -> TensorImageDataset:
    """MNIST ``split`` ("train" or "test") from ``<root>/MNIST/raw`` (1x28x28 native)."""
    from_root = ctx.root / MNIST_DIR

    def fetch() -> None:
        from torchvision.datasets import MNIST

        MNIST(str(ctx.root), train=split == "train", download=True)

    return _load(
        ctx,
        split,
        size,
        channels,
        dataset_name="MNIST",
        folders=[from_root],
        classes=DIGIT_CLASSES,
        fetch=fetch,
    )


def load_fashion_mnist(
    ctx: DataContext,
    split: str = "train",
    size: int | None = None,
    channels: int | None = None,
) -> TensorImageDataset:
    """Fashion-MNIST ``split`` from ``<root>/FashionMNIST/raw`` or, failing that,
    Debian's ``/usr/share/datasets/fashion-mnist`` (1x28x28 native)."""

    def fetch() -> None:
        from torchvision.datasets import FashionMNIST

        FashionMNIST(str(ctx.root), train=split == "train", download=True)

    return _load(
        ctx,
        split,
        size,
        channels,
        dataset_name="Fashion-MNIST",
        folders=[ctx.root / FASHION_MNIST_DIR, DEBIAN_FASHION_MNIST_DIR],
        classes=FASHION_MNIST_CLASSES,
        fetch=fetch,
        extra_hint=", where apt-get install dataset-fashion-mnist puts them",
    )
