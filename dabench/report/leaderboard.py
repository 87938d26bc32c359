"""Aggregate run records into a methods x pairs leaderboard.

For every method and pair the named rule first selects a hyperparameter trial
(:mod:`dabench.report.trials`), then the cell reports that trial's target test
metric under the same rule's checkpoints: mean ± sample std over seeds, the
seed count and a 95% t confidence half-width. ``avg`` is the mean of the
per-pair means and is only given for methods that have every pair. Every method
is compared with the ``source_only`` baseline on each pair, and the table says
where it does not beat it. Collapsed, diverged and failed runs are counted per
cell, never dropped silently.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from scipy import stats

from dabench.errors import UserError
from dabench.records import RunRecord
from dabench.report.trials import (
    Trial,
    describe_params,
    group_trials,
    select_trial,
    selection_seeds,
)

BASELINE = "source_only"
METRICS = {"acc": "target_test_acc", "f1": "target_test_f1"}


@dataclass
class Leaderboard:
    metric: str
    selection: str
    pairs: list[str]
    # One row per method: mean/std/n/ci95/trial/trials/collapsed per pair, plus
    # avg, delta, beats, rank.
    table: pd.DataFrame
    # One row per trial of every shown (method, pair): what the rule saw.
    trials: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)
    uses_target_labels: bool = False


def _ci95(values: list[float]) -> float:
    n = len(values)
    if n < 2:
        return float("nan")
    sd = pd.Series(values).std(ddof=1)
    return float(stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n))


def _newest_versions(records: list[RunRecord], notes: list[str]) -> list[RunRecord]:
    """Only records of the newest method, pair and trainer versions: older ones
    were made by code that has since changed."""
    out = records
    for attr, by in (("pair_version", "pair"), ("method_version", "method")):
        newest: dict[str, int] = {}
        for r in out:
            newest[getattr(r, by)] = max(newest.get(getattr(r, by), 0), getattr(r, attr))
        old = [r for r in out if getattr(r, attr) < newest[getattr(r, by)]]
        if old:
            notes.append(f"{len(old)} record(s) of older {by} versions ignored.")
        out = [r for r in out if getattr(r, attr) == newest[getattr(r, by)]]
    if out:
        top = max(r.trainer_version for r in out)
        old = [r for r in out if r.trainer_version < top]
        if old:
            notes.append(f"{len(old)} record(s) of an older trainer version ignored.")
        out = [r for r in out if r.trainer_version == top]
    shas = {(r.provenance or {}).get("git_sha") for r in out} - {None}
    dirty = sum(bool((r.provenance or {}).get("git_dirty")) for r in out)
    if len(shas) > 1 or dirty:
        notes.append(
            f"Records come from {len(shas)} git commit(s)"
            + (f", {dirty} from a tree with uncommitted changes" if dirty else "")
            + "; method, pair and trainer versions agree."
        )
    return out


def _pick_setups(records: list[RunRecord], notes: list[str]) -> dict[tuple[str, str], list[Trial]]:
    """One setup per (method, pair): the one with most runs, then the newest."""
    by_cell: dict[tuple[str, str], list[list[Trial]]] = {}
    for (m, p, _s), trials in group_trials(records).items():
        by_cell.setdefault((m, p), []).append(trials)
    chosen = {}
    for (m, p), setups in sorted(by_cell.items()):

        def rank(ts: list[Trial]) -> tuple[int, str]:
            recs = [r for t in ts for r in t.records]
            return len(recs), max(r.created for r in recs)

        setups.sort(key=rank, reverse=True)
        if len(setups) > 1:
            notes.append(
                f"{m} on {p}: {len(setups) - 1} other config(s) ignored; the one with most runs is shown."
            )
        chosen[(m, p)] = setups[0]
    return chosen


def _fairness_notes(chosen: dict[tuple[str, str], list[Trial]], notes: list[str]) -> None:
    pairs = sorted({p for _, p in chosen})
    for p in pairs:
        cells = {m: ts for (m, q), ts in chosen.items() if q == p}
        budgets = {
            json.dumps(json.loads(ts[0].setup).get("train"), sort_keys=True)
            for ts in cells.values()
        }
        if len(budgets) > 1:
            notes.append(
                f"WARNING: methods on {p} were not trained with the same budget/optimizer; the comparison is not fair."
            )
        if len({ts[0].records[0].backbone for ts in cells.values()}) > 1:
            notes.append(f"WARNING: methods on {p} use different backbones.")
        counts = {m: len(ts) for m, ts in cells.items()}
        if len(set(counts.values())) > 1:
            listed = ", ".join(f"{m} {n}" for m, n in sorted(counts.items()))
            notes.append(
                f"WARNING: unequal search budgets on {p} (trials: {listed}); the comparison is not fair."
            )


def build_leaderboard(
    records: list[RunRecord], metric: str = "acc", selection: str = "source_val"
) -> Leaderboard:
    if metric not in METRICS:
        raise UserError(f"unknown metric {metric!r}; choose one of: {', '.join(METRICS)}")
    field_name = METRICS[metric]
    notes: list[str] = []
    unscored = [r for r in records if not r.has_metrics]
    if unscored:
        notes.append(f"{len(unscored)} failed or diverged run(s) not included (see their records).")
    rules = {rule for r in records for rule in r.by_selection}
    if records and rules and selection not in rules:
        raise UserError(
            f"unknown selection rule {selection!r}; records have: {', '.join(sorted(rules))}"
        )
    usable = _newest_versions(records, notes)
    chosen = _pick_setups(usable, notes)
    _fairness_notes(chosen, notes)

    rows: dict[str, dict[str, Any]] = {}
    trial_rows = []
    uses_labels = False
    for (m, p), trials in chosen.items():
        best = select_trial(trials, selection)
        vals = best.values(selection, field_name)
        if not vals:
            continue
        uses_labels |= any(
            r.by_selection[selection].uses_target_labels
            for r in best.scored()
            if selection in r.by_selection
        )
        s = pd.Series(vals)
        row = rows.setdefault(m, {"method": m})
        row.update(
            {
                f"{p}_mean": float(s.mean()),
                f"{p}_std": float(s.std(ddof=1)) if len(s) > 1 else float("nan"),
                f"{p}_n": len(s),
                f"{p}_ci95": _ci95(vals),
                f"{p}_trial": best.hparams_seed,
                f"{p}_trials": len(trials),
                f"{p}_collapsed": best.count("collapsed"),
                f"{p}_runs": len(best.records),
            }
        )
        if best.count("collapsed") or best.count("diverged") or best.count("failed"):
            bad = ", ".join(
                f"{best.count(st)}/{len(best.records)} {st}"
                for st in ("collapsed", "diverged", "failed")
                if best.count(st)
            )
            notes.append(f"{m} on {p}: the selected trial has runs that {bad}.")
        search_bad = {
            st: sum(t.count(st) for t in trials) for st in ("collapsed", "diverged", "failed")
        }
        if len(trials) > 1 and any(search_bad.values()):
            total = sum(len(t.records) for t in trials)
            notes.append(
                f"{m} on {p}: "
                + ", ".join(f"{n} {st}" for st, n in search_bad.items() if n)
                + f" among the {total} runs of its {len(trials)} trials."
            )
        seeds = selection_seeds(trials)
        for t in trials:
            tv = t.values(selection, field_name)
            trial_rows.append(
                {
                    "method": m,
                    "pair": p,
                    "trial": t.hparams_seed,
                    "selected": t is best,
                    "hyperparameters": describe_params(t.params),
                    "seeds": len(t.seeds()),
                    "score": t.score(selection, seeds),
                    "mean": sum(tv) / len(tv) if tv else float("nan"),
                    "collapsed": t.count("collapsed"),
                    "diverged": t.count("diverged"),
                    "failed": t.count("failed"),
                }
            )
    if not rows:
        raise UserError(
            "no successful run records to report; run `dabench run` or `dabench bench quick` first"
        )
    pairs = sorted({p for (_, p) in chosen if any(f"{p}_mean" in r for r in rows.values())})
    table = pd.DataFrame(list(rows.values())).set_index("method")
    for p in pairs:
        for col, fill in (("mean", math.nan), ("std", math.nan), ("n", 0), ("ci95", math.nan)):
            if f"{p}_{col}" not in table:
                table[f"{p}_{col}"] = fill
        table[f"{p}_n"] = table[f"{p}_n"].fillna(0).astype(int)
    ordered = [f"{p}_{c}" for p in pairs for c in ("mean", "std", "n", "ci95")]
    extra = [f"{p}_{c}" for p in pairs for c in ("trial", "trials", "collapsed", "runs")]
    table = table[ordered + [c for c in extra if c in table]]
    means = table[[f"{p}_mean" for p in pairs]]
    table["avg"] = means.mean(axis=1).where(means.notna().all(axis=1))
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
    trials_df = pd.DataFrame(trial_rows)
    return Leaderboard(metric, selection, pairs, table, trials_df, notes, uses_labels)
