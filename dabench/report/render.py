"""Leaderboard renderers: markdown (for humans and the README) and CSV (for tools)."""

from __future__ import annotations

import math

import pandas as pd

from dabench.report.leaderboard import BASELINE, Leaderboard


def _fmt(x: float, digits: int = 2, signed: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"


def _cell(lb: Leaderboard, m: str, p: str) -> str:
    t = lb.table
    n = int(t.at[m, f"{p}_n"])
    if n == 0:
        return "–"
    mean = _fmt(t.at[m, f"{p}_mean"])
    text = f"{mean} ± {_fmt(t.at[m, f'{p}_std'])} ({n})" if n > 1 else f"{mean} (1)"
    collapsed = t.at[m, f"{p}_collapsed"] if f"{p}_collapsed" in t else 0
    if collapsed and not math.isnan(collapsed):
        text += f" ⚠ {int(collapsed)}/{int(t.at[m, f'{p}_runs'])} collapsed"
    return text


def display_frame(lb: Leaderboard) -> pd.DataFrame:
    """Strings for display: ``mean ± std (n)`` per pair, with collapse counts."""
    t = lb.table
    out = pd.DataFrame(index=t.index)
    out.insert(0, "rank", [_fmt(r, 0) for r in t["rank"]])
    for p in lb.pairs:
        out[p] = [_cell(lb, m, p) for m in t.index]
    out["avg"] = [_fmt(v) for v in t["avg"]]
    if "delta_vs_baseline" in t:
        out[f"Δ vs {BASELINE}"] = [
            _fmt(v, signed=True) if m != BASELINE else "–"
            for m, v in t["delta_vs_baseline"].items()
        ]
        out[f"beats {BASELINE}"] = t["beats_baseline"]
    out.index.name = "method"
    return out


def selected_frame(lb: Leaderboard) -> pd.DataFrame:
    """Which trial the rule selected in each cell, out of how many, with its values."""
    if lb.trials.empty:
        return pd.DataFrame()
    sel = lb.trials[lb.trials["selected"]].copy()
    counts = lb.trials.groupby(["method", "pair"]).size()
    sel["trials run"] = [counts[(m, p)] for m, p in zip(sel["method"], sel["pair"], strict=True)]
    return sel[["method", "pair", "trial", "trials run", "hyperparameters"]].reset_index(drop=True)


def trials_frame(lb: Leaderboard) -> pd.DataFrame:
    """Every trial of every cell (``report --show-trials``)."""
    if lb.trials.empty:
        return pd.DataFrame()
    df = lb.trials.copy()
    df["selected"] = ["◀" if s else "" for s in df["selected"]]
    df["score"] = [_fmt(100 * v if v > -math.inf else math.nan) for v in df["score"]]
    df["mean"] = [_fmt(v) for v in df["mean"]]
    return df.sort_values(["pair", "method", "trial"]).reset_index(drop=True)


def title(lb: Leaderboard) -> str:
    name = {"acc": "accuracy", "f1": "macro-F1"}[lb.metric]
    rule = lb.selection + (
        " (READS TARGET LABELS: an upper bound)" if lb.uses_target_labels else ""
    )
    return (
        f"Target test {name} (%), trials and checkpoints selected by {rule}; "
        "mean ± std over seeds (n seeds)"
    )


def to_markdown(lb: Leaderboard, show_trials: bool = False) -> str:
    lines = [
        f"**{title(lb)}**",
        "",
        display_frame(lb).reset_index().to_markdown(index=False, disable_numparse=True),
    ]
    sel = selected_frame(lb)
    if not sel.empty:
        lines += [
            "",
            f"Selected trials (trial 0 = defaults; selected by {lb.selection}):",
            "",
            sel.to_markdown(index=False, disable_numparse=True),
        ]
    if show_trials and not lb.trials.empty:
        lines += [
            "",
            f"All trials (score: mean {lb.selection} score ×100 over the seeds every trial has):",
            "",
            trials_frame(lb).to_markdown(index=False, disable_numparse=True),
        ]
    if lb.notes:
        lines += [""] + [f"- {n}" for n in lb.notes]
    return "\n".join(lines) + "\n"


def to_csv(lb: Leaderboard) -> str:
    t = lb.table.reset_index()
    return t.to_csv(index=False, float_format="%.4f")
