"""Leaderboard renderers: markdown (for humans and the README) and CSV (for tools).

Cells read ``mean ± h (n)`` where ``h`` is the half-width of the 95% Student-t
interval over the ``n`` seeds (see :mod:`dabench.report.stats`).
"""

from __future__ import annotations

import math

import pandas as pd

from dabench.report.leaderboard import BASELINE, Leaderboard
from dabench.report.stats import ALPHA, TEST_NAME


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
    text = f"{mean} ± {_fmt(t.at[m, f'{p}_ci95'])} ({n})" if n > 1 else f"{mean} (1)"
    if f"{p}_negative" in t and m != BASELINE and bool(t.at[m, f"{p}_negative"]):
        text += " ↓"
    collapsed = t.at[m, f"{p}_collapsed"] if f"{p}_collapsed" in t else 0
    if collapsed and not math.isnan(collapsed):
        text += f" ⚠ {int(collapsed)}/{int(t.at[m, f'{p}_runs'])} collapsed"
    return text


def _p(p: float) -> str:
    if p is None or math.isnan(p):
        return "–"
    return f"{p:.3f}" if p >= 0.001 else "<0.001"


def _verdict(lb: Leaderboard, m: str) -> str:
    if m == BASELINE:
        return "baseline"
    test = lb.tests.get(m)
    if test is None:
        return "–"
    if test.verdict == "too few pairs":
        return f"untested (n={test.n})"
    if test.verdict == "no difference":
        return f"no (identical results, n={test.n})"
    word = {"beats": "yes", "worse": "no, worse", "n.s.": "no (n.s.)"}[test.verdict]
    return f"{word}, p={_p(test.p_value)}, n={test.n}"


def _count(x: float) -> str:
    if x is None or math.isnan(x):
        return "–"
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.2f}{unit}"
    return f"{x:.0f}"


def cost_frame(lb: Leaderboard) -> pd.DataFrame:
    """Costs per row (means over the selected trials' runs)."""
    t = lb.table
    out = pd.DataFrame(index=t.index)
    out["train s"] = [_fmt(v, 1) for v in t["train_s"]]
    out["steps"] = [_fmt(v, 0) for v in t["steps"]]
    out["params"] = [_count(v) for v in t["params_total"]]
    out["trainable"] = [_count(v) for v in t["params_trainable"]]
    out["peak MB"] = [_fmt(v, 0) for v in t["peak_mem_mb"]]
    out["img/s"] = [_fmt(v, 0) for v in t["img_per_s"]]
    out.index.name = "method"
    return out


def display_frame(lb: Leaderboard, costs: bool = True) -> pd.DataFrame:
    """Strings for display: ``mean ± 95% CI half-width (n)`` per pair, with
    negative-transfer marks and collapse counts; gains, the paired test,
    average ranks and costs."""
    t = lb.table
    out = pd.DataFrame(index=t.index)
    out.insert(0, "rank", [_fmt(r, 0) for r in t["rank"]])
    for p in lb.pairs:
        out[p] = [_cell(lb, m, p) for m in t.index]
    out["avg"] = [_fmt(v) for v in t["avg"]]
    out["avg rank"] = [_fmt(v) for v in t["avg_rank"]]
    if "delta_vs_baseline" in t:
        out[f"Δ vs {BASELINE}"] = [
            _fmt(v, signed=True) if m != BASELINE else "–"
            for m, v in t["delta_vs_baseline"].items()
        ]
        out["pairs with higher mean"] = t["beats_baseline"]
        out[f"beats {BASELINE}?"] = [_verdict(lb, m) for m in t.index]
    if costs:
        out = out.join(cost_frame(lb))
    out.index.name = "method"
    return out


UPPER_BOUND_TITLE = "Upper bound (reads target labels; not ranked, not compared)"


def upper_bound_frame(lb: Leaderboard) -> pd.DataFrame:
    """Cells of the runs trained on target labels, on the main table's pairs."""
    ub = lb.upper_bound
    if ub is None:
        return pd.DataFrame()
    out = pd.DataFrame(index=ub.table.index)
    for p in lb.pairs:
        out[p] = [_cell(ub, m, p) if p in ub.pairs else "–" for m in ub.table.index]
    out["avg"] = [_fmt(v) for v in ub.table["avg"]] if set(ub.pairs) == set(lb.pairs) else "–"
    out.index.name = "method"
    return out.reset_index()


def statistics_text(lb: Leaderboard) -> list[str]:
    """The statistics the table uses, stated."""
    lines = [
        "Cells: mean ± half-width of the 95% Student-t interval over seeds (n seeds); "
        f"↓ marks negative transfer (mean below {BASELINE} on that pair).",
    ]
    if lb.tests:
        lines.append(
            f"beats {BASELINE}?: {TEST_NAME} test over (pair, seed) matched runs; "
            f"yes only when p < {ALPHA} and the mean paired difference is positive."
        )
    lines.append(lb.ranks.text())
    lines.append(
        "Costs: means over the selected trials' runs; train s excludes evaluation; "
        "peak MB is CUDA allocated memory on GPU, the process's peak RSS on CPU."
    )
    return lines


def references_frame(lb: Leaderboard) -> pd.DataFrame:
    """Published numbers beside ours, formatted."""
    if lb.references.empty:
        return pd.DataFrame()
    df = lb.references.copy()
    for col in ("published", "ours"):
        df[col] = [_fmt(v) for v in df[col]]
    df["ours − published"] = [_fmt(v, signed=True) for v in df["ours − published"]]
    return df


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
        "mean ± 95% CI over seeds (n seeds)"
    )


def to_markdown(lb: Leaderboard, show_trials: bool = False) -> str:
    lines = [
        f"**{title(lb)}**",
        "",
        display_frame(lb).reset_index().to_markdown(index=False, disable_numparse=True),
    ]
    upper = upper_bound_frame(lb)
    if not upper.empty:
        lines += [
            "",
            f"{UPPER_BOUND_TITLE}:",
            "",
            upper.to_markdown(index=False, disable_numparse=True),
        ]
    sel = selected_frame(lb)
    if not sel.empty:
        lines += [
            "",
            f"Selected trials (trial 0 = defaults; selected by {lb.selection}):",
            "",
            sel.to_markdown(index=False, disable_numparse=True),
        ]
    for x in statistics_text(lb):
        lines += ["", f"*{x}*"]
    refs = references_frame(lb)
    if not refs.empty:
        lines += [
            "",
            f"Published numbers (ours: {lb.selection}; the papers' data and selection differ "
            "where the caveat says so):",
            "",
            refs.to_markdown(index=False, disable_numparse=True),
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


def console_frames(lb: Leaderboard, show_trials: bool = False, per_class: list | None = None):
    """``[(caption, frame), ...]`` the CLI prints as tables, empty ones left out:
    the leaderboard, published numbers, selected (and every) trial, and per-class
    metrics with confusion matrices (``per_class``: from
    :func:`dabench.report.perclass.per_class`)."""
    frames = [(title(lb), display_frame(lb).reset_index())]
    frames.append((UPPER_BOUND_TITLE, upper_bound_frame(lb)))
    frames.append(("published numbers", references_frame(lb)))
    frames.append(("selected trials (0 = defaults)", selected_frame(lb)))
    if show_trials:
        frames.append(("every trial", trials_frame(lb)))
    for pc in per_class or []:
        if not pc.seeds:
            note = f"no per-class metrics recorded ({pc.missing} run(s) predate them)"
            frames.append((f"{pc.method} on {pc.pair}", pd.DataFrame({"": [note]})))
            continue
        frames.append(
            (f"{pc.method} on {pc.pair}, per class ({pc.seeds} seeds)", pc.table.round(2))
        )
        conf = pd.DataFrame(pc.confusion, index=pc.classes, columns=pc.classes)
        conf.index.name = "true \\ predicted"
        frames.append((f"{pc.method} on {pc.pair}: confusion matrix", conf.reset_index()))
    return [(c, f) for c, f in frames if not f.empty]
