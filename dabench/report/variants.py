"""Rows of a leaderboard: one per method, plus one per variant of it.

Records of a method on a pair fall into setups (everything not searched) and,
within a setup, trials (see :mod:`dabench.report.trials`). When a setup holds
a search (any trial with ``hparams_seed > 0``) the report's rule selects among
its trials. Otherwise the method was simply run in several configurations:

* every setup besides the main one (most runs, then newest) is a **variant**;
* within a setup with no search, every set of hyperparameters besides the main
  one is a variant too (``--set hparams.weight=5`` twice is not a search).

A variant is its own row, labelled by what differs from the main
configuration, e.g. ``coral[weight=5]`` or ``dann[steps=5]``.
"""

from __future__ import annotations

import json
from typing import Any

from dabench.report.trials import Trial, group_trials


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(d, dict):
        return {prefix: d}
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def variant_label(method: str, main: dict[str, Any], other: dict[str, Any]) -> str:
    """``method[k=v,...]`` naming the keys of ``other`` that differ from ``main``."""
    a, b = _flatten(main), _flatten(other)
    keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    short = [k.rsplit(".", 1)[-1] for k in keys]
    names = short if len(set(short)) == len(short) else keys
    parts = [f"{n}={_fmt(b.get(k, '–'))}" for n, k in zip(names, keys, strict=True)]
    return f"{method}[{','.join(parts)}]" if parts else f"{method}[variant]"


def _size(ts: list[Trial]) -> tuple[int, str]:
    recs = [r for t in ts for r in t.records]
    return len(recs), max(r.created for r in recs)


def _is_search(ts: list[Trial]) -> bool:
    return any(t.hparams_seed > 0 for t in ts)


def pick_rows(records: list, notes: list[str]) -> tuple[dict, set[tuple[str, str]]]:
    """``({(row, pair): [Trial, ...]}, main_cells)``: the trials each row's rule
    selects among; ``main_cells`` are the (row, pair) keys of main setups."""
    by_cell: dict[tuple[str, str], list[list[Trial]]] = {}
    for (m, p, _s), trials in group_trials(records).items():
        by_cell.setdefault((m, p), []).append(trials)
    rows: dict[tuple[str, str], list[Trial]] = {}
    main_cells: set[tuple[str, str]] = set()
    for (m, p), setups in sorted(by_cell.items()):
        setups.sort(key=_size, reverse=True)
        main = setups[0]
        labelled: list[tuple[str, list[Trial]]] = []
        if not _is_search(main) and len(main) > 1:
            # Several hand-set configurations in one setup: the most-run is main.
            ordered = sorted(main, key=lambda t: _size([t]), reverse=True)
            main = [ordered[0]]
            labelled += [(variant_label(m, ordered[0].params, t.params), [t]) for t in ordered[1:]]
        main_setup = json.loads(main[0].setup)
        for other in setups[1:]:
            labelled.append((variant_label(m, main_setup, json.loads(other[0].setup)), other))
        rows[(m, p)] = main
        main_cells.add((m, p))
        if labelled:
            names = ", ".join(label for label, _ in labelled)
            notes.append(
                f"{m} on {p}: {len(labelled)} other config(s) ignored in its row, "
                f"shown as variant row(s): {names}."
            )
        for label, ts in labelled:
            if (label, p) in rows:  # two variants that print alike: keep the bigger
                if _size(rows[(label, p)]) >= _size(ts):
                    continue
            rows[(label, p)] = ts
    return rows, main_cells
