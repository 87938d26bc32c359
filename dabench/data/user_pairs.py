"""User-defined pairs: two ImageFolder roots described by a YAML file.

Files in ``configs/pairs/*.yaml`` are registered at import; ``--pair FILE.yaml``
registers one on the fly. Schema (unknown keys are an error)::

    name: photos2sketches          # lower snake case, <source>2<target>
    description: my photos -> my sketches
    source: photos                 # ImageFolder root: <root>/<class>/*.jpg;
    target: /data/sketches         #   relative paths are under the data root
    classes: [cat, dog]            # optional; default: the source's class folders
    class_map:                     # optional: folder name -> class name, per side
      target: {kitty: cat}
    image_size: 224                # optional (default 224); images are RGB
    ignore_extra_folders: false    # true: use only the listed classes of a larger
                                   #   tree (e.g. a DomainNet subset)
    backbone: resnet50             # optional (default resnet50)
    version: 1                     # bump when the data or preprocessing changes

Both sides' class folders, after ``class_map``, must equal ``classes``
exactly: a missing or extra class is an error, never a silent relabelling.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dabench.config import CONFIG_DIR, load_yaml
from dabench.data.pairs import PAIRS, DataContext, Domain, Pair
from dabench.data.sources.common import (
    ImageFileDataset,
    enumerate_items,
    list_images,
    list_subfolders,
    screened_dataset,
)
from dabench.errors import DataMissingError, UserError

KEYS = {
    "name",
    "description",
    "source",
    "target",
    "classes",
    "class_map",
    "image_size",
    "backbone",
    "version",
    "ignore_extra_folders",
}
REQUIRED = {"name", "source", "target"}


def _root(ctx: DataContext, path: str) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else ctx.root / p


def _folder_domain(
    name: str,
    path: str,
    side: str,
    classes: tuple[str, ...],
    rename: dict[str, str],
    size: int,
    ignore_extra: bool = False,
) -> Domain:
    def load(ctx: DataContext) -> ImageFileDataset:
        root = _root(ctx, path)
        if not root.is_dir():
            raise DataMissingError(
                f"pair {name!r}: {side} folder {root} does not exist; it must hold one sub-folder of images per class"
            )
        folders = list_subfolders(root)
        if not folders:
            raise DataMissingError(
                f"pair {name!r}: {side} folder {root} has no class sub-folders; "
                f"expected {root}/<class>/*.jpg"
            )
        named = {rename.get(f, f): f for f in folders}
        missing = sorted(set(classes) - set(named))
        extra = [] if ignore_extra else sorted(set(named) - set(classes))
        if missing or extra:
            raise UserError(
                f"pair {name!r}: {side} classes in {root} do not match the pair's classes"
                + (f"; missing: {', '.join(missing)}" if missing else "")
                + (f"; unexpected: {', '.join(extra)}" if extra else "")
                + " (fix the folders, or map them with class_map)"
            )
        return _folder_images(f"pair {name!r}: {side}", root, classes, named, size, ctx.bad_images)

    return Domain(
        f"{name}_{side}",
        f"{side} images from {path}",
        load,
        where=lambda ctx: [_root(ctx, path)],
        offline=False,
    )


def _folder_images(
    what: str,
    root: Path,
    classes: tuple[str, ...],
    folder_of: dict[str, str],
    size: int,
    bad_images: str,
) -> ImageFileDataset:
    """The RGB images of each class's folder (``folder_of[class]``); a class
    folder without images is an error, and undecodable files follow
    ``bad_images`` (:mod:`dabench.data.sources.decode`)."""
    paths, targets, empty = [], [], []
    for i, c in enumerate(classes):
        files = list_images(root / folder_of[c])
        if not files:
            empty.append(folder_of[c])
        paths += files
        targets += [i] * len(files)
    if empty:
        raise DataMissingError(
            f"{what} class folders with no .jpg/.jpeg/.png/.bmp images in {root}: "
            f"{enumerate_items(empty)}; add images to them or leave the class out"
        )
    return screened_dataset(paths, targets, classes, size, 3, bad_images, f"{what} {root}")


def parse_user_pair(data: dict[str, Any], origin: str) -> Pair:
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise UserError(f"{origin}: unknown key {unknown[0]!r}; allowed: {', '.join(sorted(KEYS))}")
    missing = sorted(REQUIRED - set(data))
    if missing:
        raise UserError(f"{origin}: missing key {missing[0]!r}")
    name = str(data["name"])
    if name != name.lower() or not name.replace("_", "").isalnum() or "2" not in name:
        raise UserError(
            f"{origin}: pair name {name!r} must be lower snake case like <source>2<target>"
        )
    cmap = data.get("class_map") or {}
    if not isinstance(cmap, dict) or set(cmap) - {"source", "target"}:
        raise UserError(f"{origin}: class_map must be a mapping with keys 'source' and/or 'target'")
    classes = data.get("classes")
    if classes is None:
        raise UserError(
            f"{origin}: 'classes' is required so both sides are checked against one list"
        )
    if not isinstance(classes, list) or not classes or len(set(map(str, classes))) != len(classes):
        raise UserError(f"{origin}: 'classes' must be a non-empty list of distinct names")
    classes_t = tuple(str(c) for c in classes)
    size = data.get("image_size", 224)
    if not isinstance(size, int) or size < 8:
        raise UserError(f"{origin}: image_size must be an integer >= 8")
    version = data.get("version", 1)
    if not isinstance(version, int) or version < 1:
        raise UserError(f"{origin}: version must be a positive integer")
    ignore_extra = data.get("ignore_extra_folders", False)
    if not isinstance(ignore_extra, bool):
        raise UserError(f"{origin}: ignore_extra_folders must be true or false")
    for side in ("source", "target"):
        if not isinstance(cmap.get(side, {}), dict):
            raise UserError(f"{origin}: class_map.{side} must map folder names to class names")
    src = _folder_domain(
        name,
        str(data["source"]),
        "source",
        classes_t,
        {str(k): str(v) for k, v in cmap.get("source", {}).items()},
        size,
        ignore_extra,
    )
    tgt = _folder_domain(
        name,
        str(data["target"]),
        "target",
        classes_t,
        {str(k): str(v) for k, v in cmap.get("target", {}).items()},
        size,
        ignore_extra,
    )
    return Pair(
        name=name,
        source=src,
        target=tgt,
        classes=classes_t,
        input_shape=(3, size, size),
        description=str(
            data.get("description") or f"{data['source']} -> {data['target']} (user-defined)"
        ),
        version=version,
        default_backbone=str(data.get("backbone", "resnet50")),
        tags=("user",),
    )


def register_user_pair(path: Path) -> str:
    """Register the pair in ``path`` (if not yet registered); return its name."""
    pair = parse_user_pair(load_yaml(path), str(path))
    if pair.name in PAIRS:
        existing = PAIRS.get(pair.name)
        if "user" not in existing.tags:
            raise UserError(f"{path}: pair name {pair.name!r} is already a built-in pair")
        return pair.name
    PAIRS.add(pair.name, pair)
    return pair.name


def register_config_pairs(config_dir: Path = CONFIG_DIR) -> None:
    folder = config_dir / "pairs"
    if folder.is_dir():
        for path in sorted(folder.glob("*.yaml")):
            register_user_pair(path)


register_config_pairs()
