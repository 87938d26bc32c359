"""Where dabench reads configs and benchmark suites: one place.

Two kinds of files, each looked up in three layers, highest precedence first:

1. ``$DABENCH_HOME/configs/`` and ``$DABENCH_HOME/benchmarks/``, when
   ``DABENCH_HOME`` is set (it must name a directory);
2. ``configs/`` and ``benchmarks/`` in the working directory: your own files;
3. the built-ins shipped with the package: package data
   ``dabench._configs`` / ``dabench._suites`` of an installed wheel, read
   through :mod:`importlib.resources`, or the top-level ``configs/`` and
   ``benchmarks/`` folders of the source checkout (editable install, or the
   checkout on ``PYTHONPATH``).

A file is taken from the highest layer that has it (``defaults.yaml``,
``class_maps/imagenet2cifar.yaml``, ``quick.yaml``); a folder listing
(``pairs/*.yaml``, ``references/*.yaml``, suites) is the union of the layers,
a higher layer's file replacing a lower one's of the same name. Layers are
read when asked, never cached at import, so ``DABENCH_HOME`` and the working
directory are those of the moment.
"""

from __future__ import annotations

import functools
import json
import os
from importlib import resources
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

from dabench.errors import UserError


def expand_path(path: str | os.PathLike[str]) -> Path:
    """``path`` with a leading ``~`` or ``~user`` expanded; an unknown user is
    a UserError, not a traceback."""
    try:
        return Path(path).expanduser()
    except RuntimeError:
        raise UserError(
            f"cannot expand {str(path)!r}: no such user's home directory; give the full path"
        ) from None


@functools.cache
def source_root() -> Path | None:
    """The source folder of an editable install (``pip install -e``), as pip
    recorded it in the distribution's PEP 610 ``direct_url.json``; None for an
    installed wheel, or code imported without installing it. Only the record
    of the dabench actually imported counts (another environment's editable
    install may be on the path too)."""
    from importlib import metadata

    import dabench

    running = Path(dabench.__file__).resolve()
    for dist in metadata.distributions(name="dabench"):
        raw = dist.read_text("direct_url.json")
        info = json.loads(raw) if raw else {}
        url = info.get("url", "")
        if info.get("dir_info", {}).get("editable") and url.startswith("file://"):
            root = Path(url2pathname(urlparse(url).path)).resolve()
            if running.is_relative_to(root):
                return root
    return None


KINDS = {"configs": "_configs", "benchmarks": "_suites"}


def is_checkout() -> bool:
    """True when dabench runs from an editable install of a git checkout."""
    root = source_root()
    return root is not None and (root / ".git").exists()


def builtin_dir(kind: str) -> Path:
    """The package's own ``configs`` or ``benchmarks`` folder: package data
    in a wheel, the checkout's top-level folder in an editable install."""
    packaged = resources.files("dabench").joinpath(KINDS[kind])
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    root = source_root()
    if root is not None and (root / kind).is_dir():
        return root / kind
    raise UserError(
        f"dabench's built-in {kind} are missing (no package data dabench/{KINDS[kind]} and "
        f"no editable install's source folder); reinstall dabench, or set DABENCH_HOME"
    )


def layers(kind: str) -> list[Path]:
    """Existing folders of ``kind`` (``configs`` or ``benchmarks``), highest
    precedence first, each once."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    out: list[Path] = []
    env = os.environ.get("DABENCH_HOME")
    if env:
        home = expand_path(env)
        if not home.is_dir():
            raise UserError(f"DABENCH_HOME={env} is not a directory; unset it or create it")
        out.append(home / kind)
    out.append(Path.cwd() / kind)
    try:
        out.append(builtin_dir(kind))
    except UserError:
        # Imported without installing (PYTHONPATH): the working directory's
        # folders (a checkout's root) or DABENCH_HOME must hold them.
        if not any(p.is_dir() for p in out):
            raise

    seen: set[Path] = set()
    unique = []
    for p in out:
        if p.is_dir() and p.resolve() not in seen:
            seen.add(p.resolve())
            unique.append(p)
    return unique


def find_file(kind: str, relative: str | Path) -> Path | None:
    """``relative`` from the highest layer that has it, or None."""
    for layer in layers(kind):
        if (layer / relative).is_file():
            return layer / relative
    return None


def require_file(kind: str, relative: str | Path) -> Path:
    """Like :func:`find_file`, but a missing file is a :class:`UserError`."""
    path = find_file(kind, relative)
    if path is None:
        where = ", ".join(str(p) for p in layers(kind)) or "nowhere"
        raise UserError(f"{kind}/{relative} not found (looked in {where}); reinstall dabench")
    return path


def list_files(kind: str, subdir: str = "", pattern: str = "*.yaml") -> dict[str, Path]:
    """``{stem: path}`` of ``kind/subdir/pattern`` over every layer; a higher
    layer's file replaces a lower one's of the same name. Sorted by name."""
    found: dict[str, Path] = {}
    for layer in reversed(layers(kind)):
        folder = layer / subdir if subdir else layer
        if folder.is_dir():
            for p in folder.glob(pattern):
                if p.is_file():
                    found[p.stem] = p
    return dict(sorted(found.items()))
