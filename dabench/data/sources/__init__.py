"""Loaders that read real on-disk dataset formats into torch Datasets.

Array datasets are parsed by torchvision's own readers (CIFAR-10, STL-10,
SVHN, USPS, extracted IDX); dabench keeps the layout checks, the one-line
errors and a parser only for gzipped IDX files. Image files are decoded by
:mod:`dabench.data.sources.decode`.

Every loader returns a Dataset whose items are ``(float32 CHW image in [0, 1],
int label)`` and which exposes ``targets`` and ``classes`` without decoding an
image. Small datasets come back in memory (:class:`TensorImageDataset`), large
ones as lazily decoded files (:class:`ImageFileDataset`). Missing data raises a
one-line :class:`~dabench.errors.DataMissingError`; unreadable data a
:class:`DataCorruptError`.

``LAYOUTS`` lists, per dataset, the paths each loader expects relative to the
data root (``[.gz]`` marks an optional suffix, ``<...>`` a placeholder); the
Debian Fashion-MNIST folder is absolute.
"""

from dabench.data.sources import cifar, idx, imagefolder, imagenet, stl, svhn, usps
from dabench.data.sources.cifar import load_cifar10
from dabench.data.sources.common import (
    DataCorruptError,
    ImageFileDataset,
    load_image,
    require_files,
    to_unit_images,
)
from dabench.data.sources.idx import load_fashion_mnist, load_mnist_idx, read_idx
from dabench.data.sources.imagefolder import (
    OFFICE31_CLASSES,
    OFFICE31_DOMAINS,
    OFFICEHOME_CLASSES,
    OFFICEHOME_DOMAINS,
    load_image_folder,
    load_office31,
    load_officehome,
    office31_path,
    officehome_path,
)
from dabench.data.sources.imagenet import load_imagenet_subset
from dabench.data.sources.stl import load_stl10
from dabench.data.sources.svhn import load_svhn
from dabench.data.sources.usps import load_usps

LAYOUTS: dict[str, tuple[str, ...]] = {
    "cifar10": cifar.LAYOUT,
    "stl10": stl.LAYOUT,
    "mnist": idx.LAYOUT_MNIST,
    "fashion_mnist": idx.LAYOUT_FASHION_MNIST,
    "usps": usps.LAYOUT,
    "svhn": svhn.LAYOUT,
    "office31": imagefolder.LAYOUT_OFFICE31,
    "officehome": imagefolder.LAYOUT_OFFICEHOME,
    "imagenet": imagenet.LAYOUT,
}

__all__ = [
    "LAYOUTS",
    "OFFICE31_CLASSES",
    "OFFICE31_DOMAINS",
    "OFFICEHOME_CLASSES",
    "OFFICEHOME_DOMAINS",
    "DataCorruptError",
    "ImageFileDataset",
    "load_cifar10",
    "load_fashion_mnist",
    "load_image",
    "load_image_folder",
    "load_imagenet_subset",
    "load_mnist_idx",
    "load_office31",
    "load_officehome",
    "load_stl10",
    "load_svhn",
    "load_usps",
    "office31_path",
    "officehome_path",
    "read_idx",
    "require_files",
    "to_unit_images",
]
