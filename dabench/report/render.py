"""Leaderboard renderers: markdown (for humans and the README) and CSV (for tools)."""

from __future__ import annotations

import math

import pandas as pd

from dabench.report.leaderboard import BASELINE, Leaderboard


def _fmt(x: float, digits: int = 2, signed: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"


def display_frame(lb: Leaderboard) -> pd.DataFrame:
    """Strings for display: ``mean ± std (n)`` per pair."""
    t = lb.table
    out = pd.DataFrame(index=t.index)
    out.insert(0, "rank", [_fmt(r, 0) for r in t["rank"]])
    for p in lb.pairs:
        cells = []
        for m in t.index:
            n = int(t.at[m, f"{p}_n"])
            if n == 0:
                cells.append("–")
                continue
            std = t.at[m, f"{p}_std"]
            cells.append(
                f"{_fmt(t.at[m, f'{p}_mean'])} ± {_fmt(std)} ({n})"
                if n > 1
                else f"{_fmt(t.at[m, f'{p}_mean'])} (1)"
            )
        out[p] = cells
    out["avg"] = [_fmt(v) for v in t["avg"]]
    if "delta_vs_baseline" in t:
        out[f"Δ vs {BASELINE}"] = [
            _fmt(v, signed=True) if m != BASELINE else "–"
            for m, v in t["delta_vs_baseline"].items()
        ]
        out[f"beats {BASELINE}"] = t["beats_baseline"]
    out.index.name = "method"
    return out


def title(lb: Leaderboard) -> str:
    name = {"acc": "accuracy", "f1": "macro-F1"}[lb.metric]
    return f"Target test {name} (%), checkpoint selection: {lb.selection}; mean ± std over seeds (n seeds)"


def to_markdown(lb: Leaderboard) -> str:
    lines = [
        f"**{title(lb)}**",
        "",
        display_frame(lb).reset_index().to_markdown(index=False, disable_numparse=True),
    ]
    if lb.notes:
        lines += [""] + [f"- {n}" for n in lb.notes]
    return "\n".join(lines) + "\n"


def to_csv(lb: Leaderboard) -> str:
    t = lb.table.reset_index()
    return t.to_csv(index=False, float_format="%.4f")
