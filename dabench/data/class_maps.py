"""Class maps between label spaces of two domains.

A class map says which source labels make up which target class, for pairs
whose domains do not share one label set:

* ``imagenet2cifar``: ImageNet-1k wnids -> CIFAR-10 classes, a data file
  (``configs/class_maps/imagenet2cifar.yaml``) generated from WordNet 3.0 by
  ``benchmarks/tools/make_imagenet2cifar_map.py``; see its header for the method.
* ``imagenet2fashion``: ImageNet-1k wnids -> Fashion-MNIST classes
  (``configs/class_maps/imagenet2fashion.yaml``), generated the same way by
  ``make_imagenet2cifar_map.py --target fashion_mnist``.
* ``cifar2stl`` / ``stl2cifar``: the 9 classes CIFAR-10 and STL-10 share,
  :data:`STL_CIFAR_SHARED`, written out below.

Class map files are validated strictly: anything unexpected is a
:class:`~dabench.errors.UserError` naming the file and the problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dabench.errors import UserError
from dabench.home import expand_path, find_file, list_files

# torchvision.datasets.CIFAR10 label order.
CIFAR10_CLASSES: tuple[str, ...] = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

# torchvision.datasets.STL10 label order.
STL10_CLASSES: tuple[str, ...] = (
    "airplane",
    "bird",
    "car",
    "cat",
    "deer",
    "dog",
    "horse",
    "monkey",
    "ship",
    "truck",
)

# torchvision.datasets.FashionMNIST label order; the IDX loader uses this list.
FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

# Target datasets whose label order a class map must reproduce exactly.
KNOWN_TARGET_CLASSES: dict[str, tuple[str, ...]] = {
    "cifar10": CIFAR10_CLASSES,
    "stl10": STL10_CLASSES,
    "fashion_mnist": FASHION_MNIST_CLASSES,
}

POLICIES = ("drop",)

_WNID = re.compile(r"^n\d{8}$")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_TOP_KEYS = {"version", "source", "target", "policy", "target_classes", "classes", "unmapped"}
_TOP_REQUIRED = _TOP_KEYS - {"unmapped"}
_CLASS_KEYS = {"roots", "excluded", "wnids"}


@dataclass(frozen=True)
class ClassMap:
    """A validated source -> target class map, with its policy already applied.

    ``classes`` are the kept target classes in target label order;
    ``source_to_class`` maps a source wnid to an index into ``classes``;
    ``target_index_to_class`` maps an original target label to that index (only
    kept classes appear); ``unmapped`` maps each dropped class to its reason.
    """

    source: str
    target: str
    classes: tuple[str, ...]
    source_to_class: dict[str, int] = field(hash=False)
    target_index_to_class: dict[int, int] = field(hash=False)
    unmapped: dict[str, str] = field(hash=False)
    version: int

    @property
    def num_classes(self) -> int:
        return len(self.classes)


@dataclass(frozen=True)
class SharedClasses:
    """Classes two datasets share, with each side's original label -> shared index."""

    classes: tuple[str, ...]
    cifar10: dict[int, int] = field(hash=False)
    stl10: dict[int, int] = field(hash=False)
    dropped: dict[str, tuple[str, ...]] = field(hash=False)
    # Shared names that one side spells differently: side -> {its name: shared name}.
    aliases: dict[str, dict[str, str]] = field(hash=False)


# CIFAR-10 <-> STL-10 (pairs cifar2stl / stl2cifar): 9 shared classes, named and
# ordered as in CIFAR-10. STL-10 calls automobile "car"; CIFAR-10's frog and
# STL-10's monkey have no counterpart and are dropped.
STL_CIFAR_SHARED = SharedClasses(
    classes=tuple(c for c in CIFAR10_CLASSES if c != "frog"),
    cifar10={
        0: 0,  # airplane
        1: 1,  # automobile
        2: 2,  # bird
        3: 3,  # cat
        4: 4,  # deer
        5: 5,  # dog
        # 6: frog (not in STL-10)
        7: 6,  # horse
        8: 7,  # ship
        9: 8,  # truck
    },
    stl10={
        0: 0,  # airplane
        1: 2,  # bird
        2: 1,  # car -> automobile
        3: 3,  # cat
        4: 4,  # deer
        5: 5,  # dog
        6: 6,  # horse
        # 7: monkey (not in CIFAR-10)
        8: 7,  # ship
        9: 8,  # truck
    },
    dropped={"cifar10": ("frog",), "stl10": ("monkey",)},
    aliases={"stl10": {"car": "automobile"}},
)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys (PyYAML keeps the last one)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    out: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            line = key_node.start_mark.line + 1
            raise UserError(f"duplicate key {key!r} (line {line})")
        out[key] = loader.construct_object(value_node, deep=True)
    return out


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,  # type: ignore[arg-type]
)


def available_class_maps() -> list[str]:
    """Names of the class maps under ``configs/class_maps``."""
    return list(list_files("configs", "class_maps"))


def _resolve(name_or_path: str | Path) -> Path:
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or "/" in text or text.endswith((".yaml", ".yml")):
        path = expand_path(name_or_path)
        if not path.is_file():
            raise UserError(f"class map file not found: {path}")
        return path
    path = find_file("configs", f"class_maps/{text}.yaml") if _NAME.match(text) else None
    if path is None:
        known = ", ".join(available_class_maps()) or "none"
        raise UserError(f"unknown class map {text!r} (known: {known})")
    return path


def load_class_map(name_or_path: str | Path) -> ClassMap:
    """Load and validate a class map by name (``configs/class_maps/<name>.yaml``) or path.

    Raises :class:`UserError` with one line naming the file and the problem for
    unknown keys, malformed or duplicate wnids, a class both mapped and unmapped,
    and every other inconsistency.
    """
    path = _resolve(name_or_path)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)
    except UserError as e:
        raise UserError(f"{path}: {e}") from None
    except yaml.YAMLError as e:
        raise UserError(f"{path}: not valid YAML: {_yaml_problem(e)}") from None
    try:
        return _parse(raw)
    except UserError as e:
        raise UserError(f"{path}: {e}") from None


def _yaml_problem(e: yaml.YAMLError) -> str:
    mark = getattr(e, "problem_mark", None)
    problem = getattr(e, "problem", None)
    if problem and mark is not None:
        return f"{problem} (line {mark.line + 1})"
    return str(e).splitlines()[0]


def _mapping(value: Any, where: str) -> dict[Any, Any]:
    if not isinstance(value, dict):
        raise UserError(f"{where} must be a mapping, got {type(value).__name__}")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise UserError(f"{where} must be a non-empty string, got {value!r}")
    return value


def _check_keys(d: dict[Any, Any], allowed: set[str], required: set[str], where: str) -> None:
    unknown = sorted(map(str, set(d) - allowed))
    if unknown:
        raise UserError(
            f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
            f"in {where} (allowed: {', '.join(sorted(allowed))})"
        )
    missing = sorted(required - set(d))
    if missing:
        raise UserError(
            f"missing key{'s' if len(missing) > 1 else ''} {', '.join(missing)} in {where}"
        )


def _wnid_table(value: Any, where: str, required: bool) -> dict[str, str]:
    table = _mapping(value, where)
    if required and not table:
        raise UserError(f"{where} is empty: list at least one wnid, or move the class to unmapped")
    for wnid, name in table.items():
        if not isinstance(wnid, str) or not _WNID.match(wnid):
            raise UserError(f"invalid wnid {wnid!r} in {where}: expected 'n' followed by 8 digits")
        _text(name, f"{where}.{wnid}")
    return table


def _parse(raw: Any) -> ClassMap:
    if raw is None:
        raise UserError("file is empty")
    top = _mapping(raw, "the top level")
    _check_keys(top, _TOP_KEYS, _TOP_REQUIRED, "the top level")

    version = top["version"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise UserError(f"version must be a positive integer, got {version!r}")
    source = _text(top["source"], "source")
    target = _text(top["target"], "target")
    policy = top["policy"]
    if policy not in POLICIES:
        raise UserError(f"policy must be one of {', '.join(POLICIES)}, got {policy!r}")

    target_classes = top["target_classes"]
    if not isinstance(target_classes, list) or not target_classes:
        raise UserError("target_classes must be a non-empty list of class names")
    for name in target_classes:
        _text(name, "each of target_classes")
    if len(set(target_classes)) != len(target_classes):
        dup = sorted({c for c in target_classes if target_classes.count(c) > 1})
        raise UserError(f"target_classes lists {', '.join(dup)} more than once")
    expected = KNOWN_TARGET_CLASSES.get(target)
    if expected is not None and tuple(target_classes) != expected:
        raise UserError(
            f"target_classes must be {target}'s classes in label order: {', '.join(expected)}"
        )

    classes = _mapping(top["classes"], "classes")
    if not classes:
        raise UserError("classes is empty: a class map must map at least one class")
    unmapped = _mapping(top.get("unmapped") or {}, "unmapped")

    for cls in list(classes) + list(unmapped):
        if cls not in target_classes:
            raise UserError(f"class {cls!r} is not one of target_classes")
    both = [c for c in classes if c in unmapped]
    if both:
        raise UserError(f"class {both[0]!r} is both mapped (classes) and unmapped")
    neither = [c for c in target_classes if c not in classes and c not in unmapped]
    if neither:
        raise UserError(f"target class {neither[0]!r} is neither in classes nor in unmapped")
    order = [c for c in target_classes if c in classes]
    if list(classes) != order:
        raise UserError(f"classes must be listed in target label order: {', '.join(order)}")

    source_to_class: dict[str, int] = {}
    owner: dict[str, str] = {}
    for new_index, (cls, entry) in enumerate(classes.items()):
        where = f"classes.{cls}"
        entry = _mapping(entry, where)
        _check_keys(entry, _CLASS_KEYS, {"wnids"}, where)
        _wnid_table(entry.get("roots") or {}, f"{where}.roots", required=False)
        excluded = _wnid_table(entry.get("excluded") or {}, f"{where}.excluded", required=False)
        wnids = _wnid_table(entry["wnids"], f"{where}.wnids", required=True)
        for wnid in wnids:
            if wnid in excluded:
                raise UserError(f"wnid {wnid} is both listed and excluded in {where}")
            if wnid in owner:
                raise UserError(f"wnid {wnid} is listed under both {owner[wnid]!r} and {cls!r}")
            owner[wnid] = cls
            source_to_class[wnid] = new_index

    reasons = {cls: _text(reason, f"unmapped.{cls}") for cls, reason in unmapped.items()}
    kept = tuple(classes)
    return ClassMap(
        source=source,
        target=target,
        classes=kept,
        source_to_class=source_to_class,
        target_index_to_class={target_classes.index(c): i for i, c in enumerate(kept)},
        unmapped=reasons,
        version=version,
    )
