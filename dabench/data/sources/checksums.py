"""Checksums of the published dataset files and archives, as torchvision records them.

torchvision verifies an archive when it downloads it; files a user put in
place by hand are verified here, by `dabench data prepare`, against the same
md5 sums (read from torchvision's dataset classes, not copied).
"""

from __future__ import annotations

from pathlib import Path

from torchvision.datasets import CIFAR10, MNIST, STL10, SVHN, USPS, FashionMNIST
from torchvision.datasets.utils import calculate_md5, check_integrity

from dabench.data.sources.common import DataCorruptError
from dabench.data.sources.idx import FASHION_MNIST_DIR, MNIST_DIR


def known_md5() -> dict[str, str]:
    """Data-root-relative path -> md5 of every file with a published checksum."""
    sums: dict[str, str] = {CIFAR10.filename: CIFAR10.tgz_md5, STL10.filename: STL10.tgz_md5}
    for name, md5 in CIFAR10.train_list + CIFAR10.test_list:
        sums[f"{CIFAR10.base_folder}/{name}"] = md5
    for name, md5 in STL10.train_list + STL10.test_list:
        sums[f"{STL10.base_folder}/{name}"] = md5
    for name, md5 in MNIST.resources:
        sums[f"{MNIST_DIR}/{name}"] = md5
    for name, md5 in FashionMNIST.resources:
        sums[f"{FASHION_MNIST_DIR}/{name}"] = md5
    for _url, name, md5 in USPS.split_list.values():
        sums[name] = md5
    for _url, name, md5 in SVHN.split_list.values():
        sums[f"svhn/{name}"] = md5
    return sums


def verify_present(root: Path, under: list[Path] | None = None) -> int:
    """Check every file with a published checksum that exists under ``root``
    (restricted to the paths ``under``); return how many were checked.

    Raises DataCorruptError naming each mismatching file.
    """
    bad: list[str] = []
    checked = 0
    for rel, md5 in known_md5().items():
        path = root / rel
        if under is not None and not any(path == u or u in path.parents for u in under):
            continue
        if path.is_file():
            checked += 1
            if not check_integrity(str(path), md5):
                got = calculate_md5(str(path))
                bad.append(f"{rel} (md5 {got}, expected {md5})")
    if bad:
        raise DataCorruptError(
            f"checksum mismatch under {root}: {'; '.join(bad)}; delete these files and run "
            "`dabench data prepare` again to fetch intact copies"
        )
    return checked
