"""A subset of ILSVRC-2012 synsets, relabelled to a smaller class list, decoded lazily.

* train: ``<root>/imagenet/train/<wnid>/*.JPEG`` (the release's train tree);
* val, either reorganised as ``<root>/imagenet/val/<wnid>/*.JPEG``, or flat as
  released, ``<root>/imagenet/val/ILSVRC2012_val_*.JPEG``, labelled by
  ``LOC_val_solution.csv`` (``ImageId,PredictionString``, the first token of
  the prediction string being the wnid) in ``<root>/imagenet/`` or in ``val/``.

ImageNet needs an account and a manual download, so there is no ``fetch``; the
error says which folder to create and where.
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from dabench.data.pairs import DataContext
from dabench.data.sources.common import (
    IMAGE_EXTENSIONS,
    DataCorruptError,
    ImageFileDataset,
    check_shape,
    check_split,
    list_images,
    missing_error,
    screened_dataset,
)
from dabench.errors import UserError

log = logging.getLogger(__name__)

IMAGENET_DIR = "imagenet"
VAL_SOLUTION = "LOC_val_solution.csv"
_SPLITS = ("train", "val")
LAYOUT = (
    f"{IMAGENET_DIR}/train/<wnid>/*.JPEG",
    f"{IMAGENET_DIR}/val/<wnid>/*.JPEG",
    f"{IMAGENET_DIR}/val/*.JPEG + {IMAGENET_DIR}/{VAL_SOLUTION}",
)
_MANUAL = (
    "ImageNet has no automatic download: get ILSVRC-2012 from image-net.org and place its {what}"
)


def _check_mapping(wnid_to_class: Mapping[str, int], classes: Sequence[str]) -> None:
    if not wnid_to_class:
        raise UserError("ImageNet subset: wnid_to_class is empty")
    bad = sorted(w for w, c in wnid_to_class.items() if not 0 <= int(c) < len(classes))
    if bad:
        raise UserError(
            f"ImageNet subset: synsets {', '.join(bad)} map outside the "
            f"{len(classes)} classes (indices 0..{len(classes) - 1})"
        )


def _from_wnid_folders(
    ctx: DataContext, split: str, wnid_to_class: Mapping[str, int]
) -> list[tuple[Path, int]]:
    base = ctx.root / IMAGENET_DIR / split
    items: list[tuple[Path, int]] = []
    missing: list[str] = []
    for wnid in sorted(wnid_to_class):
        files = list_images(base / wnid) if (base / wnid).is_dir() else []
        if not files:
            missing.append(f"{IMAGENET_DIR}/{split}/{wnid}/")
        items.extend((f, int(wnid_to_class[wnid])) for f in files)
    if missing:
        what = f"{split}/ folder (one sub-folder of JPEGs per WordNet id) at {base}"
        raise missing_error("ImageNet", ctx.root, missing, _MANUAL.format(what=what))
    return items


def _read_val_solution(path: Path) -> dict[str, str]:
    """ImageId -> wnid from LOC_val_solution.csv."""
    labels: dict[str, str] = {}
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or not {"ImageId", "PredictionString"} <= set(reader.fieldnames):
            raise DataCorruptError(
                f"corrupt {path}: expected the header ImageId,PredictionString, "
                f"got {','.join(reader.fieldnames or [])}"
            )
        for lineno, row in enumerate(reader, 2):
            tokens = (row["PredictionString"] or "").split()
            if not row["ImageId"] or not tokens:
                raise DataCorruptError(f"corrupt {path}, line {lineno}: empty ImageId or label")
            labels[row["ImageId"]] = tokens[0]
    return labels


def _from_flat_val(ctx: DataContext, wnid_to_class: Mapping[str, int]) -> list[tuple[Path, int]]:
    base = ctx.root / IMAGENET_DIR
    candidates = [base / VAL_SOLUTION, base / "val" / VAL_SOLUTION]
    solution = next((p for p in candidates if p.is_file()), None)
    if solution is None:
        raise missing_error(
            "ImageNet",
            ctx.root,
            [f"{IMAGENET_DIR}/{VAL_SOLUTION}"],
            f"the flat val/ folder needs it (it may also sit at {candidates[1]}), "
            f"or reorganise {base / 'val'} into one sub-folder per WordNet id",
        )
    labels = _read_val_solution(solution)
    absent = sorted(set(wnid_to_class) - set(labels.values()))
    if absent:
        raise UserError(f"ImageNet synsets not in {solution}: {', '.join(absent)}")
    on_disk = {
        os.path.splitext(e.name)[0]: e.name
        for e in os.scandir(base / "val")
        if e.is_file() and e.name.lower().endswith(IMAGE_EXTENSIONS)
    }
    items: list[tuple[Path, int]] = []
    missing: list[str] = []
    for image_id, wnid in sorted(labels.items(), key=lambda kv: (kv[1], kv[0])):
        if wnid not in wnid_to_class:
            continue
        if image_id not in on_disk:
            missing.append(f"{IMAGENET_DIR}/val/{image_id}.JPEG")
            continue
        items.append((base / "val" / on_disk[image_id], int(wnid_to_class[wnid])))
    if missing:
        what = f"50,000 val images in {base / 'val'}"
        raise missing_error("ImageNet", ctx.root, missing, _MANUAL.format(what=what))
    return items


def load_imagenet_subset(
    ctx: DataContext,
    split: str,
    wnid_to_class: Mapping[str, int],
    classes: Sequence[str],
    size: int | None = None,
    channels: int | None = None,
) -> ImageFileDataset:
    """Images of the synsets in ``wnid_to_class`` from ILSVRC-2012 ``split``
    ("train" or "val"), labelled ``wnid_to_class[wnid]`` (an index into
    ``classes``), in order of wnid then file name."""
    check_shape(size, channels)
    check_split(split, _SPLITS)
    _check_mapping(wnid_to_class, classes)
    folder = ctx.root / IMAGENET_DIR / split
    if not folder.is_dir():
        layout = (
            "one sub-folder of JPEGs per WordNet id"
            if split == "train"
            else f"one sub-folder per WordNet id, or the flat JPEGs plus {VAL_SOLUTION}"
        )
        raise missing_error(
            "ImageNet",
            ctx.root,
            [f"{IMAGENET_DIR}/{split}/"],
            _MANUAL.format(what=f"{split}/ folder ({layout}) at {folder}"),
        )
    reorganised = split == "train" or any(
        e.is_dir() and not e.name.startswith(".") for e in os.scandir(folder)
    )
    if reorganised:
        items = _from_wnid_folders(ctx, split, wnid_to_class)
    else:
        items = _from_flat_val(ctx, wnid_to_class)
    log.info("ImageNet %s: %d images of %d synsets", split, len(items), len(wnid_to_class))
    return screened_dataset(
        [p for p, _ in items],
        [c for _, c in items],
        list(classes),
        size,
        channels,
        ctx.bad_images,
        f"ImageNet {split}",
    )
