"""Published numbers beside ours.

``configs/references/*.yaml`` hold a list ``references:`` of entries with
``paper``, ``method``, ``pair`` (the paper's name for it), ``dabench_pair``
(or ``dabench_pairs``: the published number is an average over those),
``backbone`` (dabench's name for the paper's network), ``selection`` (how the
paper picked its number), ``value`` (target test accuracy, %) and optionally
``std`` and ``caveat`` (how our data differ from the paper's). A reference is
shown when one of our main rows has the same method and backbone and results
on every pair it names; the difference is ours minus published.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from dabench.errors import UserError

REQUIRED = ("paper", "method", "pair", "backbone", "selection", "value")
OPTIONAL = ("dabench_pair", "dabench_pairs", "std", "caveat")


@dataclass(frozen=True)
class Reference:
    paper: str
    method: str
    pair: str
    pairs: tuple[str, ...]
    backbone: str
    selection: str
    value: float
    std: float | None = None
    caveat: str = ""


def _files(directory: Path | None) -> list[Path]:
    if directory is None:  # built-in and user references, as dabench.home layers them
        from dabench.home import list_files

        return list(list_files("configs", "references").values())
    directory = Path(directory)
    return sorted(directory.glob("*.yaml")) if directory.is_dir() else []


def load_references(directory: Path | None = None) -> list[Reference]:
    """Every entry of every ``*.yaml`` in ``directory``; a malformed entry is a UserError."""
    out = []
    for path in _files(directory):
        try:
            doc = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as e:
            raise UserError(f"{path}: not valid YAML ({e.__class__.__name__})") from None
        for i, e in enumerate(doc.get("references") or []):
            missing = [k for k in REQUIRED if k not in e]
            unknown = sorted(set(e) - set(REQUIRED) - set(OPTIONAL))
            pairs = e.get("dabench_pairs") or ([e["dabench_pair"]] if "dabench_pair" in e else [])
            if missing or unknown or not pairs:
                raise UserError(
                    f"{path}: reference {i + 1} needs {', '.join(REQUIRED)} and dabench_pair(s)"
                    + (f"; unknown keys: {', '.join(unknown)}" if unknown else "")
                )
            out.append(
                Reference(
                    str(e["paper"]),
                    str(e["method"]),
                    str(e["pair"]),
                    tuple(pairs),
                    str(e["backbone"]),
                    str(e["selection"]),
                    float(e["value"]),
                    None if e.get("std") is None else float(e["std"]),
                    str(e.get("caveat", "")),
                )
            )
    return out


def compare(lb, refs: list[Reference]) -> pd.DataFrame:
    """One row per reference that matches a main row of ``lb``."""
    rows = []
    for ref in refs:
        if ref.method not in lb.table.index or any(p not in lb.pairs for p in ref.pairs):
            continue
        means, backbones = [], set()
        for p in ref.pairs:
            t = lb.selected.get((ref.method, p))
            if t is None:
                break
            means.append(lb.table.at[ref.method, f"{p}_mean"])
            backbones |= {r.backbone for r in t.records}
        if len(means) != len(ref.pairs) or backbones != {ref.backbone}:
            continue
        ours = sum(means) / len(means)
        if math.isnan(ours):
            continue
        rows.append(
            {
                "method": ref.method,
                "pair": ", ".join(ref.pairs) if len(ref.pairs) <= 2 else f"{len(ref.pairs)} pairs",
                "paper": ref.paper,
                "paper's pair": ref.pair,
                "backbone": ref.backbone,
                "paper's selection": ref.selection,
                "published": ref.value,
                "ours": ours,
                "ours − published": ours - ref.value,
                "caveat": ref.caveat,
            }
        )
    return pd.DataFrame(rows)
