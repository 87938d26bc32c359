"""Image-folder domains: ``<domain>/<class>/*.{jpg,jpeg,png,bmp}``, decoded lazily.

* Office-31: ``<root>/office31/{amazon,dslr,webcam}/images/<class>/`` as in the
  public ``domain_adaptation_images`` release, or the same without ``images/``.
* Office-Home: ``<root>/officehome/{Art,Clipart,Product,Real_World}/<class>/``;
  the original release's ``Real World`` (with a space) is accepted too.

Class indices come from the expected class list, never from what happens to be
on disk, so a domain that lacks a class folder is an error rather than a
silent shift of every later label.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from dabench.data.pairs import DataContext
from dabench.data.sources.common import (
    ImageFileDataset,
    check_shape,
    enumerate_items,
    list_images,
    list_subfolders,
    screened_dataset,
)
from dabench.errors import DataMissingError, UserError

log = logging.getLogger(__name__)

OFFICE31_DIR = "office31"
OFFICE31_DOMAINS = ("amazon", "dslr", "webcam")
OFFICE31_CLASSES = (
    "back_pack",
    "bike",
    "bike_helmet",
    "bookcase",
    "bottle",
    "calculator",
    "desk_chair",
    "desk_lamp",
    "desktop_computer",
    "file_cabinet",
    "headphones",
    "keyboard",
    "laptop_computer",
    "letter_tray",
    "mobile_phone",
    "monitor",
    "mouse",
    "mug",
    "paper_notebook",
    "pen",
    "phone",
    "printer",
    "projector",
    "punchers",
    "ring_binder",
    "ruler",
    "scissors",
    "speaker",
    "stapler",
    "tape_dispenser",
    "trash_can",
)
OFFICEHOME_DIR = "officehome"
OFFICEHOME_DOMAINS = ("Art", "Clipart", "Product", "Real_World")
OFFICEHOME_CLASSES = (
    "Alarm_Clock",
    "Backpack",
    "Batteries",
    "Bed",
    "Bike",
    "Bottle",
    "Bucket",
    "Calculator",
    "Calendar",
    "Candles",
    "Chair",
    "Clipboards",
    "Computer",
    "Couch",
    "Curtains",
    "Desk_Lamp",
    "Drill",
    "Eraser",
    "Exit_Sign",
    "Fan",
    "File_Cabinet",
    "Flipflops",
    "Flowers",
    "Folder",
    "Fork",
    "Glasses",
    "Hammer",
    "Helmet",
    "Kettle",
    "Keyboard",
    "Knives",
    "Lamp_Shade",
    "Laptop",
    "Marker",
    "Monitor",
    "Mop",
    "Mouse",
    "Mug",
    "Notebook",
    "Oven",
    "Pan",
    "Paper_Clip",
    "Pen",
    "Pencil",
    "Postit_Notes",
    "Printer",
    "Push_Pin",
    "Radio",
    "Refrigerator",
    "Ruler",
    "Scissors",
    "Screwdriver",
    "Shelf",
    "Sink",
    "Sneakers",
    "Soda",
    "Speaker",
    "Spoon",
    "TV",
    "Table",
    "Telephone",
    "ToothBrush",
    "Toys",
    "Trash_Can",
    "Webcam",
)
LAYOUT_OFFICE31 = tuple(f"{OFFICE31_DIR}/{d}/[images/]<class>/*.jpg" for d in OFFICE31_DOMAINS)
LAYOUT_OFFICEHOME = tuple(f"{OFFICEHOME_DIR}/{d}/<class>/*.jpg" for d in OFFICEHOME_DOMAINS)


def load_image_folder(
    path: Path,
    classes: Sequence[str] | None = None,
    size: int | None = None,
    channels: int | None = None,
    bad_images: str = "error",
) -> ImageFileDataset:
    """A lazy dataset of ``path/<class>/**/*.{jpg,jpeg,png,bmp}``.

    Without ``classes`` the classes are the sorted sub-folder names. With it,
    the sub-folders must be exactly those names (each holding at least one
    image), and label ``i`` is ``classes[i]``. ``bad_images`` says what an
    undecodable file does (:mod:`dabench.data.sources.decode`).
    """
    check_shape(size, channels)
    path = Path(path)
    if not path.is_dir():
        raise DataMissingError(
            f"image folder {path} does not exist; create it with one sub-folder of images per class"
        )
    found = list_subfolders(path)
    if classes is None:
        if not found:
            raise DataMissingError(
                f"image folder {path} has no class sub-folders; expected {path}/<class>/*.jpg"
            )
        classes = found
    classes = list(classes)
    found_set, expected_set = set(found), set(classes)
    missing = [c for c in classes if c not in found_set]
    extra = [c for c in found if c not in expected_set]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing class folders {enumerate_items(missing)}")
        if extra:
            parts.append(f"unexpected class folders {enumerate_items(extra)}")
        error = DataMissingError if missing else UserError
        raise error(
            f"image folder {path} does not match the expected {len(classes)} classes: "
            f"{'; '.join(parts)}"
        )
    paths: list[Path] = []
    targets: list[int] = []
    empty: list[str] = []
    for label, name in enumerate(classes):
        files = list_images(path / name)
        if not files:
            empty.append(name)
        paths.extend(files)
        targets.extend([label] * len(files))
    if empty:
        raise DataMissingError(
            f"image folder {path}: no .jpg/.jpeg/.png/.bmp images in class folders "
            f"{enumerate_items(empty)}; add images to them or remove them from the class list"
        )
    log.info("image folder %s: %d images in %d classes", path, len(paths), len(classes))
    return screened_dataset(
        paths, targets, classes, size, channels, bad_images, f"image folder {path}"
    )


def _check_domain(dataset_name: str, domain: str, domains: Sequence[str]) -> None:
    if domain not in domains:
        raise UserError(
            f"unknown {dataset_name} domain {domain!r}; expected one of {', '.join(domains)}"
        )


def office31_path(ctx: DataContext, domain: str) -> Path:
    """The class-folder parent of an Office-31 domain, with or without ``images/``."""
    _check_domain("Office-31", domain, OFFICE31_DOMAINS)
    base = ctx.root / OFFICE31_DIR / domain
    for candidate in (base / "images", base):
        if candidate.is_dir() and list_subfolders(candidate):
            return candidate
    raise DataMissingError(
        f"Office-31 domain {domain!r} missing under {ctx.root}: expected "
        f"{OFFICE31_DIR}/{domain}/images/<class>/*.jpg (or without images/); Office-31 has no "
        f"automatic download: extract domain_adaptation_images.tar.gz and move its {domain}/ "
        f"folder to {base}"
    )


def officehome_path(ctx: DataContext, domain: str) -> Path:
    """The class-folder parent of an Office-Home domain (``Real World`` accepted)."""
    _check_domain("Office-Home", domain, OFFICEHOME_DOMAINS)
    base = ctx.root / OFFICEHOME_DIR
    for name in dict.fromkeys((domain, domain.replace("_", " "))):
        if (base / name).is_dir():
            return base / name
    raise DataMissingError(
        f"Office-Home domain {domain!r} missing under {ctx.root}: expected "
        f"{OFFICEHOME_DIR}/{domain}/<class>/*.jpg; Office-Home has no automatic download: "
        f"extract OfficeHomeDataset_10072016.zip and move its {domain.replace('_', ' ')}/ "
        f"folder to {base / domain}"
    )


def load_office31(
    ctx: DataContext, domain: str, size: int | None = None, channels: int | None = None
) -> ImageFileDataset:
    """Office-31 ``domain`` ("amazon", "dslr", "webcam"), lazy, 31 classes."""
    path = office31_path(ctx, domain)
    return load_image_folder(path, OFFICE31_CLASSES, size, channels, ctx.bad_images)


def load_officehome(
    ctx: DataContext, domain: str, size: int | None = None, channels: int | None = None
) -> ImageFileDataset:
    """Office-Home ``domain`` ("Art", "Clipart", "Product", "Real_World"), lazy, 65 classes."""
    path = officehome_path(ctx, domain)
    return load_image_folder(path, OFFICEHOME_CLASSES, size, channels, ctx.bad_images)
