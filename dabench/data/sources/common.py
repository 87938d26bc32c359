"""What every on-disk source shares: missing-data errors, downloads, image conversion.

Small datasets are decoded once into a :class:`TensorImageDataset`; large ones
are an :class:`ImageFileDataset` of paths and labels, decoded on access. Both
take ``size`` (square side, ``None`` keeps the native size) and ``channels``
(1 grey, 3 RGB, ``None`` keeps the native count) so that two domains of a pair
can be brought to one input shape.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from dabench.data.pairs import DataContext
from dabench.data.sources.decode import BadImageError, decode_image, screen_images
from dabench.errors import DataCorruptError, DataMissingError, UserError

log = logging.getLogger(__name__)
T = TypeVar("T")

DIGIT_CLASSES = tuple(str(i) for i in range(10))
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
# ITU-R 601-2 luma, the weights PIL's convert("L") uses, so in-memory and
# file-backed datasets turn colour into grey the same way.
_LUMA = (0.299, 0.587, 0.114)
_LISTED = 10  # how many missing items an error names before "and N more"


def one_line(text: object) -> str:
    """Collapse whitespace so a wrapped exception message stays on one line."""
    return " ".join(str(text).split())


def enumerate_items(items: Sequence[str], limit: int = _LISTED) -> str:
    """``a, b, c`` or ``a, b, ... and 7 more``: bounded, for one-line errors."""
    shown = ", ".join(items[:limit])
    if len(items) > limit:
        shown += f" and {len(items) - limit} more"
    return shown


def check_split(split: str, allowed: Sequence[str]) -> str:
    if split not in allowed:
        raise UserError(f"unknown split {split!r}; expected one of {', '.join(allowed)}")
    return split


def check_shape(size: int | None, channels: int | None) -> None:
    if size is not None and (not isinstance(size, int) or size < 1):
        raise UserError(f"image size must be a positive integer or None, got {size!r}")
    if channels not in (None, 1, 3):
        raise UserError(f"channels must be 1, 3 or None, got {channels!r}")


def missing_error(
    dataset_name: str, root: Path, missing: Sequence[str], hint: str
) -> DataMissingError:
    """The one-line error: which files, under which root, and how to fix it."""
    return DataMissingError(
        f"{dataset_name} data missing under {root}: {enumerate_items(list(missing))}; {hint}"
    )


def missing_files(root: Path, relative_paths: Sequence[str]) -> list[str]:
    return [p for p in relative_paths if not (root / p).exists()]


def require_files(
    ctx_root: Path, relative_paths: Sequence[str], dataset_name: str, download_hint: str
) -> list[Path]:
    """The absolute paths of ``relative_paths`` under ``ctx_root``, or a
    :class:`DataMissingError` naming every one that is absent."""
    missing = missing_files(ctx_root, relative_paths)
    if missing:
        raise missing_error(dataset_name, ctx_root, missing, download_hint)
    return [ctx_root / p for p in relative_paths]


def refetch_hint(files: Sequence[Path]) -> str:
    """How to replace unreadable dataset files."""
    it = "it" if len(files) == 1 else "them"
    return (
        f"delete {it} and run `dabench data prepare <pair>` (or pass --download) "
        "to fetch a checksum-verified copy"
    )


def torchvision_read(dataset_name: str, files: Sequence[Path], read: Callable[[], T]) -> T:
    """Run ``read`` (a torchvision dataset class or reader over ``files``),
    turning whatever it raises on a bad file into one :class:`DataCorruptError`
    that names the files and the fix.

    torchvision's readers fail on a truncated or altered file with whatever the
    parser hit first (a bare ``AssertionError``, a reshape ``ValueError``, an
    unpickling error, ...), so every exception of ``read`` is taken as bad data.
    """
    try:
        return read()
    except Exception as e:  # noqa: BLE001 - see the docstring
        why = one_line(e) or "no details"
        raise DataCorruptError(
            f"cannot read {dataset_name} {describe_files(files)} "
            f"({type(e).__name__}: {why}); {refetch_hint(files)}"
        ) from e


def describe_files(files: Sequence[Path]) -> str:
    """``/d/a`` for one file, ``a, b, c in /d`` for several in one folder."""
    if len(files) == 1:
        return f"file {files[0]}"
    parents = {f.parent for f in files}
    if len(parents) == 1:
        return f"files {enumerate_items([f.name for f in files], 4)} in {files[0].parent}"
    return f"files {enumerate_items([str(f) for f in files], 4)}"


def check_labels(dataset_name: str, path: Path, labels: np.ndarray, low: int, high: int) -> None:
    """Labels must lie in ``low..high`` (as stored in ``path``)."""
    if len(labels) and (labels.min() < low or labels.max() > high):
        bad = int(labels[(labels < low) | (labels > high)][0])
        raise DataCorruptError(
            f"corrupt {dataset_name} labels in {path}: label {bad} outside {low}..{high}; "
            f"{refetch_hint([path])}"
        )


def run_download(
    dataset_name: str,
    fetch: Callable[[], object],
    root: Path | None = None,
    check: Sequence[Path] = (),
) -> None:
    """Run a download, turning network and checksum failures into a user error.

    torchvision checks each download with ``check_integrity`` and says only
    "File not found or corrupted"; on failure the published checksums of the
    files under ``check`` are compared, so the error names the file that does
    not match.
    """
    log.info("downloading %s", dataset_name)
    try:
        fetch()
    except (OSError, RuntimeError) as e:  # URLError is an OSError; md5 mismatch a RuntimeError
        if root is not None and check:
            from dabench.data.sources.checksums import verify_present

            verify_present(root, list(check))  # raises, naming each mismatching file
        raise DataMissingError(
            f"{dataset_name} download failed ({one_line(e)}); check the network, "
            "or place the files by hand (`dabench data status` shows where)"
        ) from e


def ensure_files(
    ctx: DataContext,
    relative_paths: Sequence[str],
    dataset_name: str,
    fetch: Callable[[], object] | None,
    manual_hint: str,
    archive: str | None = None,
) -> list[Path]:
    """Like :func:`require_files`, fetching first when files are missing,
    ``fetch`` exists and ``ctx.download`` allows it. ``archive``: the file the
    download saves at the root before extracting it, if any."""
    if fetch is None:
        hint = manual_hint
    elif ctx.download:
        if missing_files(ctx.root, relative_paths):
            tops = dict.fromkeys(rel.split("/")[0] for rel in relative_paths)
            check = [ctx.root / t for t in (*tops, *([archive] if archive else []))]
            run_download(dataset_name, fetch, ctx.root, check)
        hint = f"the download did not produce them; {manual_hint}"
    else:
        hint = f"pass --download to fetch them, or {manual_hint}"
    return require_files(ctx.root, relative_paths, dataset_name, hint)


def to_unit_images(
    x: torch.Tensor | np.ndarray,
    size: int | None = None,
    channels: int | None = None,
    chunk: int = 2048,
) -> torch.Tensor:
    """(N, C, H, W) uint8 in 0..255 or float in [0, 1] -> float32 in [0, 1],
    converted to ``channels`` and resized to ``size`` x ``size``.

    Works in chunks so that resizing tens of thousands of images never holds
    more than one chunk of intermediate floats.
    """
    check_shape(size, channels)
    x = torch.as_tensor(x)
    if x.ndim != 4:
        raise ValueError(f"expected images of shape (N, C, H, W), got {tuple(x.shape)}")
    n, c, h, w = x.shape
    if c not in (1, 3):
        raise ValueError(f"expected 1 or 3 channels, got {c}")
    c_out = c if channels is None else channels
    h_out, w_out = (h, w) if size is None else (size, size)
    out = torch.empty((n, c_out, h_out, w_out), dtype=torch.float32)
    scale = 255.0 if x.dtype == torch.uint8 else 1.0
    luma = torch.tensor(_LUMA).view(1, 3, 1, 1)
    for start in range(0, n, chunk):
        xb = x[start : start + chunk].float() / scale
        if c == 3 and c_out == 1:
            xb = (xb * luma).sum(dim=1, keepdim=True)
        elif c == 1 and c_out == 3:
            xb = xb.expand(-1, 3, -1, -1)
        if (h_out, w_out) != (h, w):
            xb = F.interpolate(
                xb, size=(h_out, w_out), mode="bilinear", align_corners=False, antialias=True
            )
        out[start : start + chunk].copy_(xb).clamp_(0.0, 1.0)
    return out


# One image file -> float32 (C, H, W) in [0, 1]; the mode rules live in decode.py.
load_image = decode_image


def list_images(folder: Path) -> list[Path]:
    """Image files under ``folder`` (recursively), sorted by path; hidden files
    and folders are skipped."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        found.extend(
            Path(dirpath) / name
            for name in filenames
            if not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS)
        )
    return sorted(found)


def list_subfolders(folder: Path) -> list[str]:
    """Names of the non-hidden sub-folders of ``folder``, sorted."""
    return sorted(e.name for e in os.scandir(folder) if e.is_dir() and not e.name.startswith("."))


class ImageFileDataset(Dataset):
    """Image files with labels, decoded with PIL on access.

    ``targets`` and ``classes`` are known without opening a single image;
    ``skipped`` lists files left out because they do not decode
    (``data.bad_images=skip``, see :mod:`dabench.data.sources.decode`).
    """

    def __init__(
        self,
        paths: Sequence[Path],
        targets: Sequence[int],
        classes: Sequence[str],
        size: int | None = None,
        channels: int | None = None,
        skipped: Sequence[Path] = (),
    ) -> None:
        check_shape(size, channels)
        if len(paths) != len(targets):
            raise ValueError(f"{len(paths)} paths but {len(targets)} labels")
        self.paths = [Path(p) for p in paths]
        self.targets = torch.as_tensor(list(targets), dtype=torch.long)
        self.classes = list(classes)
        self.size = size
        self.channels = channels
        self.skipped = [Path(p) for p in skipped]

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return decode_image(self.paths[i], self.size, self.channels), int(self.targets[i])


def screened_dataset(
    paths: Sequence[Path],
    targets: Sequence[int],
    classes: Sequence[str],
    size: int | None,
    channels: int | None,
    bad_images: str,
    what: str,
) -> ImageFileDataset:
    """An :class:`ImageFileDataset` of ``paths``, undecodable files left out
    under ``bad_images="skip"``; a class left without a decodable image is an
    error, never a silently missing class."""
    kept, kept_targets, skipped = screen_images(paths, targets, bad_images, what, size, channels)
    if skipped:
        left = set(kept_targets)
        lost = [c for i, c in enumerate(classes) if i in set(targets) and i not in left]
        if lost:
            raise BadImageError(
                f"{what}: no image of class {enumerate_items(lost)} decodes (e.g. {skipped[0]}); "
                "replace or delete the bad files"
            )
    return ImageFileDataset(kept, kept_targets, classes, size, channels, skipped=skipped)
