"""Names that become file names: one check, so nothing from a user file or the
command line can reach outside the results or cache directory.

Suite names, pair and method names, run keys and cache keys end up as file
names under ``results/`` or a cache folder. A name with a path separator,
``..``, a leading dot, a NUL or another control character, or one too long for
a file system, is refused with one :class:`~dabench.errors.UserError` line.
"""

from __future__ import annotations

from pathlib import Path

from dabench.errors import UserError

MAX_LEN = 200  # file systems allow 255 bytes; leave room for suffixes


def check_name(name: object, what: str) -> str:
    """``name`` if it is safe as one file-name component, else a UserError."""
    if not isinstance(name, str) or not name:
        raise UserError(f"{what} must be a non-empty name, got {name!r}")
    bad = next((c for c in name if c in "/\\" or ord(c) < 32 or ord(c) == 127), None)
    if bad is not None:
        raise UserError(
            f"{what} {name!r} contains {bad!r}; names may not hold path separators "
            "or control characters"
        )
    if name.startswith(".") or ".." in name:
        raise UserError(f"{what} {name!r} may not start with a dot or contain '..'")
    if len(name.encode("utf-8", "surrogatepass")) > MAX_LEN:
        raise UserError(f"{what} is too long ({len(name)} characters; at most {MAX_LEN})")
    return name


def child(root: Path, name: str, what: str, suffix: str = "") -> Path:
    """``root / (name + suffix)`` after :func:`check_name`; never outside ``root``."""
    path = Path(root) / f"{check_name(name, what)}{suffix}"
    # Belt and braces: the checks above already rule out every escape.
    if path.parent != Path(root):
        raise UserError(f"{what} {name!r} would leave {root}")
    return path
