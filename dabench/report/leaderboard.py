"""Aggregate run records into a methods x pairs leaderboard.

Cells are mean ± sample std over seeds with the seed count and a 95% t
confidence half-width. ``avg`` is the mean of the per-pair means and is only
given for methods that have every pair. Every method is compared with the
``source_only`` baseline on each pair, and the table says where it does not
beat it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from scipy import stats

from dabench.errors import UserError
from dabench.fewshot_label import protocol_label

BASELINE = "source_only"
METRICS = {"acc": "target_test_acc", "f1": "target_test_f1"}


@dataclass
class Leaderboard:
    metric: str
    selection: str
    pairs: list[str]
    # One row per method: mean/std/n/ci per pair, plus avg, delta, beats, rank.
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def _variant_key(rec: dict[str, Any]) -> str:
    cfg = dict(rec.get("config", {}))
    cfg.pop("seed", None)
    cfg.pop("device", None)
    if isinstance(cfg.get("data"), dict):  # a copy: the record itself stays as loaded
        # Few-shot episodes are repeated draws of one setting, pooled like seeds.
        # Records from before the few-shot keys existed equal those with shots/ways 0.
        cfg["data"] = {
            k: v
            for k, v in cfg["data"].items()
            if k not in ("root", "episode") and not (k in ("shots", "ways") and not v)
        }
    return json.dumps(cfg, sort_keys=True, default=str)


def _ci95(values: list[float]) -> float:
    n = len(values)
    if n < 2:
        return float("nan")
    sd = pd.Series(values).std(ddof=1)
    return float(stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n))


def records_frame(
    records: list[dict[str, Any]], metric: str, selection: str
) -> tuple[pd.DataFrame, list[str]]:
    """One row per usable record: method, pair, seed, value; plus notes on what was left out."""
    if metric not in METRICS:
        raise UserError(f"unknown metric {metric!r}; choose one of: {', '.join(METRICS)}")
    key = METRICS[metric]
    notes: list[str] = []
    rows = []
    skipped = 0
    for rec in records:
        if rec.get("status") != "ok":
            skipped += 1
            continue
        by_sel = rec.get("by_selection") or {}
        if selection not in by_sel:
            raise UserError(
                f"unknown selection rule {selection!r}; records have: {', '.join(sorted(by_sel))}"
            )
        value = by_sel[selection].get(key)
        if value is None:
            continue
        rows.append(
            {
                "method": protocol_label(rec),  # few-shot rows name their k (and n)
                "pair": rec["pair"],
                "pair_version": rec.get("pair_version", 1),
                "seed": rec["seed"],
                "value": 100.0 * float(value),
                "variant": _variant_key(rec),
                "created": rec.get("created", ""),
                "train": json.dumps(rec.get("config", {}).get("train", {}), sort_keys=True),
                "backbone": rec.get("backbone", ""),
            }
        )
    if skipped:
        notes.append(f"{skipped} failed or diverged run(s) not included (see their records).")
    df = pd.DataFrame(rows)
    if df.empty:
        return df, notes
    # Only the newest definition of each pair.
    newest = df.groupby("pair")["pair_version"].transform("max")
    if (df["pair_version"] < newest).any():
        notes.append(
            f"{int((df['pair_version'] < newest).sum())} record(s) of older pair versions ignored."
        )
    df = df[df["pair_version"] == newest]
    # One config per (method, pair): the one with most seeds, then the newest.
    kept = []
    for (m, p), g in df.groupby(["method", "pair"]):
        stats_ = g.groupby("variant").agg(n=("seed", "nunique"), newest=("created", "max"))
        best = stats_.sort_values(["n", "newest"], ascending=False).index[0]
        if len(stats_) > 1:
            notes.append(
                f"{m} on {p}: {len(stats_) - 1} other config(s) ignored; the one with most seeds is shown."
            )
        kept.append(g[g["variant"] == best])
    df = pd.concat(kept, ignore_index=True)
    for p, g in df.groupby("pair"):
        if g["train"].nunique() > 1:
            notes.append(
                f"WARNING: methods on {p} were not trained with the same budget/optimizer; the comparison is not fair."
            )
        if g["backbone"].nunique() > 1:
            notes.append(f"WARNING: methods on {p} use different backbones.")
    return df, notes


def build_leaderboard(
    records: list[dict[str, Any]], metric: str = "acc", selection: str = "source_val"
) -> Leaderboard:
    df, notes = records_frame(records, metric, selection)
    if df.empty:
        raise UserError(
            "no successful run records to report; run `dabench run` or `dabench bench quick` first"
        )
    pairs = sorted(df["pair"].unique())
    agg = df.groupby(["method", "pair"])["value"].agg(list)
    methods = sorted(df["method"].unique())
    rows = []
    for m in methods:
        row: dict[str, Any] = {"method": m}
        means = {}
        for p in pairs:
            vals = agg.get((m, p))
            if vals is None:
                row.update(
                    {
                        f"{p}_mean": float("nan"),
                        f"{p}_std": float("nan"),
                        f"{p}_n": 0,
                        f"{p}_ci95": float("nan"),
                    }
                )
                continue
            s = pd.Series(vals)
            means[p] = float(s.mean())
            row.update(
                {
                    f"{p}_mean": means[p],
                    f"{p}_std": float(s.std(ddof=1)) if len(s) > 1 else float("nan"),
                    f"{p}_n": len(s),
                    f"{p}_ci95": _ci95(vals),
                }
            )
        row["avg"] = sum(means.values()) / len(pairs) if len(means) == len(pairs) else float("nan")
        rows.append(row)
    table = pd.DataFrame(rows).set_index("method")
    table["rank"] = table["avg"].rank(ascending=False, method="min")
    if BASELINE in table.index:
        base = table.loc[BASELINE]
        table["delta_vs_baseline"] = table["avg"] - base["avg"]
        beats = []
        for m in table.index:
            if m == BASELINE:
                beats.append("baseline")
                continue
            shared = [
                p
                for p in pairs
                if not math.isnan(table.at[m, f"{p}_mean"]) and not math.isnan(base[f"{p}_mean"])
            ]
            won = [p for p in shared if table.at[m, f"{p}_mean"] > base[f"{p}_mean"]]
            lost = [p for p in shared if p not in won]
            text = f"{len(won)}/{len(shared)}"
            beats.append(text + (f" (not on {', '.join(lost)})" if lost else ""))
        table["beats_baseline"] = beats
        losers = [m for m in table.index if m != BASELINE and table.at[m, "delta_vs_baseline"] <= 0]
        if losers:
            notes.append(f"Does not beat {BASELINE} on average: {', '.join(losers)}.")
    else:
        notes.append(f"No {BASELINE} runs: gains cannot be judged without the baseline.")
    table = table.sort_values(["rank", "avg"], na_position="last")
    return Leaderboard(metric, selection, pairs, table, notes)
