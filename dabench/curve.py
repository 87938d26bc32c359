"""Low-resource curves: target accuracy against the number of labelled target
images per class, k, for few-shot methods, with reference lines.

Every point is ``episodes`` runs (one record each, reused when recorded), each
on its own seeded support draw (:mod:`dabench.data.fewshot`), summarised by
the mean and a 95% t confidence interval over episodes. Reference lines come
from records already in the results directory: the pair's ``source_only`` and
its best unsupervised method (``unlabeled`` target access), both without
target labels, under the same selection rule; an n-way curve has none (those
runs solve the all-class task).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from scipy import stats

from dabench.config import RunConfig, build_config
from dabench.errors import UserError
from dabench.records import RunRecord

log = logging.getLogger(__name__)

METRIC = "target_test_acc"
# More episodes than this is a typo (each one is a run).
MAX_EPISODES = 10_000


@dataclass
class Reference:
    label: str
    acc: float  # percent
    n: int


@dataclass
class Curve:
    pair: str
    ways: int
    table: pd.DataFrame  # method, shots, episodes, mean, ci95, std (percent)
    references: list[Reference] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)


def parse_list(text: str, what: str, cast: Callable[[str], Any] = str) -> list[Any]:
    try:
        items = [cast(s.strip()) for s in text.split(",") if s.strip()]
    except ValueError:
        raise UserError(f"--{what} expects a comma-separated list, got {text!r}") from None
    if not items:
        raise UserError(f"--{what} is empty")
    return items


def curve_configs(
    methods: list[str],
    pair: str,
    shots: list[int],
    episodes: int,
    ways: int = 0,
    seed: int = 0,
    overrides: dict[str, Any] | None = None,
) -> list[RunConfig]:
    """One config per (method, k, episode); the training seed is the same for all."""
    if not 1 <= episodes <= MAX_EPISODES:
        raise UserError(f"--episodes must be from 1 to {MAX_EPISODES}, got {episodes}")
    if any(k < 1 for k in shots):
        raise UserError(f"--shots must all be >= 1, got {shots}")
    from dabench.methods import METHODS, TargetAccess

    for m in methods:
        if METHODS.get(m).target_access != TargetAccess.FEW_SHOT:
            raise UserError(f"{m} is not a few-shot method; a curve over k needs few-shot methods")
    out = []
    for m in methods:
        for k in shots:
            for e in range(episodes):
                sets = dict(overrides or {})
                sets.update({"data.shots": k, "data.ways": ways, "data.episode": e})
                out.append(build_config(m, pair, seed, overrides=sets))
    return out


def ci95(values: list[float]) -> float:
    n = len(values)
    if n < 2:
        return float("nan")
    sd = float(pd.Series(values).std(ddof=1))
    return float(stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n))


def summarise(records: list[RunRecord]) -> pd.DataFrame:
    """Mean, 95% CI and std (percent) of target accuracy per (method, k)."""
    rows = []
    for rec in records:
        head = rec.metrics
        if rec.status != "ok" or head is None or getattr(head, METRIC) is None:
            continue
        d = rec.config["data"]
        rows.append({"method": rec.method, "shots": d["shots"], "acc": 100 * getattr(head, METRIC)})
    cols = ["method", "shots", "episodes", "mean", "ci95", "std"]
    if not rows:
        return pd.DataFrame(columns=cols)
    df = pd.DataFrame(rows)
    out = []
    for (m, k), g in df.groupby(["method", "shots"], sort=False):
        v = g["acc"].tolist()
        sd = float(pd.Series(v).std(ddof=1)) if len(v) > 1 else float("nan")
        out.append([m, int(k), len(v), float(sum(v) / len(v)), ci95(v), sd])
    return pd.DataFrame(out, columns=cols).sort_values(["method", "shots"], kind="stable")


def references(
    records: list[RunRecord], pair: str, selection: str = "source_val"
) -> list[Reference]:
    """source_only and the best unsupervised method on ``pair``, from records
    that used no target labels: for each method (and backbone) the trial that
    ``selection`` picks, as the leaderboard does, and its mean over seeds."""
    from dabench.report.trials import group_trials, select_trial

    usable = [
        r
        for r in records
        if r.pair == pair
        and r.has_metrics
        and not ((r.config or {}).get("data") or {}).get("shots")
        and (r.method == "source_only" or r.target_access == "unlabeled")
    ]
    groups: dict[tuple[str, str], list[float]] = {}
    for (_label, _p, _setup), trials in group_trials(usable).items():
        best = select_trial(trials, selection)
        vals = best.values(selection, METRIC)
        key = (best.records[0].method, best.records[0].backbone)
        if vals and len(vals) > len(groups.get(key, [])):  # the main setup: most runs
            groups[key] = vals
    means = {k: (sum(v) / len(v), len(v)) for k, v in groups.items()}
    out = [
        Reference(f"source_only ({bb})", m, n)
        for (meth, bb), (m, n) in means.items()
        if meth == "source_only"
    ]
    unsup = [(m, n, meth, bb) for (meth, bb), (m, n) in means.items() if meth != "source_only"]
    if unsup:
        m, n, meth, bb = max(unsup)
        out.append(Reference(f"best unsupervised: {meth} ({bb})", m, n))
    return out


def plot(curve: Curve, path: Path) -> Path:
    """Accuracy against k with 95% bands and the reference lines, as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for m, g in curve.table.groupby("method", sort=False):
        g = g.sort_values("shots")
        line = ax.plot(g["shots"], g["mean"], marker="o", label=m)[0]
        lo, hi = g["mean"] - g["ci95"].fillna(0), g["mean"] + g["ci95"].fillna(0)
        ax.fill_between(g["shots"], lo, hi, color=line.get_color(), alpha=0.2)
    styles = iter(["--", ":", "-.", (0, (5, 1))])
    for ref in curve.references:
        ax.axhline(
            ref.acc, color="grey", linestyle=next(styles, "--"), label=f"{ref.label}: {ref.acc:.1f}"
        )
    ks = sorted(curve.table["shots"].unique()) if len(curve.table) else []
    if ks:
        ax.set_xscale("log")
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.minorticks_off()
    way = f"{curve.ways}-way" if curve.ways else "all classes"
    ax.set_title(f"{curve.pair}: target test accuracy vs k ({way}, mean ± 95% CI)", fontsize=9)
    ax.set_xlabel("labelled target images per class (k)")
    ax.set_ylabel("target test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def to_markdown(curve: Curve) -> str:
    if curve.table.empty:
        return "(no finished runs)\n"
    t = curve.table.copy()
    t["acc (%)"] = [
        f"{m:.2f} ± {c:.2f}" if not math.isnan(c) else f"{m:.2f}"
        for m, c in zip(t["mean"], t["ci95"], strict=True)
    ]
    wide = t.pivot(index="method", columns="shots", values="acc (%)")
    wide.columns = [f"k={k}" for k in wide.columns]
    way = f"{curve.ways}-way" if curve.ways else "all classes"
    lines = [
        f"**{curve.pair}, {way}: target test accuracy (%), mean ± 95% CI over "
        f"{int(t['episodes'].max())} episodes**",
        "",
        wide.to_markdown(),
        "",
    ]
    lines += [f"- reference: {r.label} = {r.acc:.2f} ({r.n} run(s))" for r in curve.references]
    return "\n".join(lines) + "\n"


def run_curve(
    methods: list[str],
    pair: str,
    shots: list[int],
    episodes: int,
    results: Path,
    ways: int = 0,
    seed: int = 0,
    overrides: dict[str, Any] | None = None,
    force: bool = False,
    png: Path | None = None,
    on_record: Callable[[RunConfig, dict[str, Any], bool], None] | None = None,
) -> Curve:
    """Run (or reuse) every episode, then write the table (md, csv) and the PNG."""
    from dabench.records import atomic_write_text, load_records
    from dabench.sweep.runner import run_in_order

    configs = curve_configs(methods, pair, shots, episodes, ways, seed, overrides)
    records = []
    for cfg, rec, reused in run_in_order(configs, results, force=force):
        records.append(rec)
        if on_record is not None:
            on_record(cfg, rec, reused)
    pair_name = configs[0].pair
    # Reference runs solve the all-class task; an n-way episode is another task.
    refs = references(load_records(results), pair_name) if not ways else []
    curve = Curve(pair_name, ways, summarise(records), refs)
    stem = f"curve_{pair_name}" + (f"_{ways}way" if ways else "") + "_" + "+".join(methods)
    md, csv = results / f"{stem}.md", results / f"{stem}.csv"
    atomic_write_text(md, to_markdown(curve))
    atomic_write_text(csv, curve.table.to_csv(index=False))
    curve.written = [md, csv, plot(curve, png or results / f"{stem}.png")]
    return curve
