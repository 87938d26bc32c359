"""What data each pair needs, whether it is on disk, and fetching what can be."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dabench.data.pairs import PAIRS, DataContext, Domain, load_pair_data

SIZE_SCAN_LIMIT = 200_000  # files; a full ImageNet tree is not walked to the end


@dataclass
class DomainStatus:
    domain: str
    available: bool
    how: str  # "packaged", "built on first use", "on disk", "missing"
    paths: list[Path]
    size_bytes: int | None
    size_exact: bool = True


def _size(paths: list[Path]) -> tuple[int, bool]:
    total, seen = 0, 0
    stack = [p for p in paths if p.exists()]
    while stack:
        p = stack.pop()
        if p.is_file():
            total += p.stat().st_size
            seen += 1
        elif p.is_dir():
            with os.scandir(p) as it:
                for e in it:
                    if e.is_dir(follow_symlinks=False):
                        stack.append(Path(e.path))
                    elif e.is_file(follow_symlinks=False):
                        total += e.stat().st_size
                        seen += 1
        if seen >= SIZE_SCAN_LIMIT:
            return total, False
    return total, True


def domain_status(domain: Domain, ctx: DataContext) -> DomainStatus:
    paths = domain.where(ctx) if domain.where else []
    present = [p for p in paths if p.exists()]
    if domain.offline:
        how = (
            "built (cached)"
            if paths and present
            else ("built on first use" if paths else "packaged")
        )
        size, exact = _size(present) if present else (None, True)
        return DomainStatus(domain.name, True, how, paths, size, exact)
    ok = bool(paths) and len(present) == len(paths)
    size, exact = _size(present) if present else (None, True)
    return DomainStatus(domain.name, ok, "on disk" if ok else "missing", paths, size, exact)


def pair_status(ctx: DataContext) -> list[tuple[str, DomainStatus, DomainStatus]]:
    return [
        (name, domain_status(p.source, ctx), domain_status(p.target, ctx))
        for name, p in PAIRS.items()
    ]


def prepare(pair_name: str, ctx: DataContext) -> tuple[DomainStatus, DomainStatus]:
    """Download (through torchvision, checksum-verified) or build what the pair
    needs. Data that has no public download raises DataMissingError saying
    where to put it."""
    from dabench.data.sources.checksums import verify_present

    pair = PAIRS.get(pair_name)
    ctx = DataContext(ctx.root, download=True)
    before = _folders(ctx.root)
    ctx.root.mkdir(parents=True, exist_ok=True)
    try:
        load_pair_data(pair, ctx)
        paths = [p for d in (pair.source, pair.target) if d.where for p in d.where(ctx)]
        verify_present(ctx.root, paths)
    except BaseException:
        _remove_new_empty_folders(ctx.root, before)
        raise
    return domain_status(pair.source, ctx), domain_status(pair.target, ctx)


def _folders(root: Path) -> set[Path]:
    """Every folder from ``root``'s top existing ancestor down, as they are now."""
    if not root.exists():
        return {p for p in root.parents if p.exists()}
    return {root, *root.parents, *(Path(d) for d, _, _ in os.walk(root))}


def _remove_new_empty_folders(root: Path, before: set[Path]) -> None:
    """Undo the empty folders a failed download left (``MNIST/raw``, the data
    root itself), deepest first; folders that hold anything, or were there
    before, stay."""
    if not root.exists():
        return
    made = [Path(d) for d, _, _ in os.walk(root) if Path(d) not in before]
    made += [p for p in (root, *root.parents) if p not in before]
    for d in sorted(set(made), key=lambda p: len(p.parts), reverse=True):
        try:
            d.rmdir()  # only succeeds when empty
        except OSError:
            pass


def human_size(n: int | None, exact: bool = True) -> str:
    if n is None:
        return "–"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            text = f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
            return text if exact else f">= {text}"
        size /= 1024
    return str(n)
