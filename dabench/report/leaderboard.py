"""Aggregate run records into a methods x pairs leaderboard.

For every method and pair the named rule first selects a hyperparameter trial
(:mod:`dabench.report.trials`), then the cell reports that trial's target test
metric under the same rule's checkpoints: mean ± sample std over seeds, the
seed count and a 95% t confidence half-width. ``avg`` is the mean of the
per-pair means and is only given for methods that have every pair. Every method
is compared with the ``source_only`` baseline on each pair (gain, negative
transfer) and over pairs × seeds by a paired test; average ranks carry a
Nemenyi critical difference (:mod:`dabench.report.stats`). Variants of a method
run outside a search are rows of their own (:mod:`dabench.report.variants`).
Collapsed, diverged and failed runs are counted per cell, never dropped
silently. Costs are means over the selected trials' runs.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from dabench.errors import UserError
from dabench.records import LABELED_ACCESS, RunRecord
from dabench.report.stats import PairedTest, RankSummary, paired_test, rank_summary
from dabench.report.trials import Trial, describe_params, select_trial, selection_seeds
from dabench.report.variants import pick_rows

BASELINE = "source_only"
METRICS = {"acc": "target_test_acc", "f1": "target_test_f1"}
# Cost columns: (column, where in a record, key).
COSTS = (
    ("train_s", "timing", "train_seconds"),
    ("steps", "timing", "steps"),
    ("params_total", "costs", "params_total"),
    ("params_trainable", "costs", "params_trainable"),
    ("peak_mem_mb", "costs", "peak_memory_mb"),
    ("img_per_s", "costs", "images_per_second"),
)


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
    # The trials each (row, pair) selects among, and the one it selected.
    cells: dict[tuple[str, str], list[Trial]] = field(default_factory=dict)
    selected: dict[tuple[str, str], Trial] = field(default_factory=dict)
    tests: dict[str, PairedTest] = field(default_factory=dict)
    ranks: RankSummary = field(default_factory=lambda: RankSummary([]))
    # Published numbers that match a row (see dabench.report.references).
    references: pd.DataFrame = field(default_factory=pd.DataFrame)
    # Runs that read target labels (target_only): their own leaderboard, never
    # ranked with or compared against the rows above.
    upper_bound: Leaderboard | None = None

    @property
    def field_name(self) -> str:
        return METRICS[self.metric]

    def seed_values(self, row: str, pair: str) -> dict[int, float]:
        """``{seed: metric %}`` of the selected trial of a cell."""
        t = self.selected.get((row, pair))
        if t is None:
            return {}
        out = {}
        for r in t.scored():
            sel = r.by_selection.get(self.selection)
            v = None if sel is None else getattr(sel, self.field_name)
            if v is not None:
                out[r.seed] = 100.0 * float(v)
        return out


def _ci95(values: list[float]) -> float:
    from dabench.report.stats import ci95

    return ci95(values)


def _costs(trial: Trial) -> dict[str, float]:
    out = {}
    for col, where, key in COSTS:
        vals = [getattr(r, where).get(key) for r in trial.scored()]
        vals = [float(v) for v in vals if isinstance(v, (int, float))]
        out[col] = sum(vals) / len(vals) if vals else math.nan
    return out


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


def _fairness_notes(chosen: dict[tuple[str, str], list[Trial]], notes: list[str]) -> None:
    """Budget, backbone and search-size checks across the main rows of each pair."""
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


def _skipped_images_note(records: list[RunRecord], notes: list[str]) -> None:
    """Runs made with data.bad_images=skip that left undecodable images out."""
    skipped = {
        r.run_id: sum(v for k, v in r.extra.items() if k.startswith("data_skipped_images"))
        for r in records
    }
    hit = [n for n in skipped.values() if n]
    if hit:
        notes.append(
            f"{len(hit)} run(s) left out undecodable images (data.bad_images=skip; "
            f"up to {max(hit)} per run, see data_skipped_images_* in their records)."
        )


def build_leaderboard(
    records: list[RunRecord], metric: str = "acc", selection: str = "source_val"
) -> Leaderboard:
    """The leaderboard of ``records``. Runs trained on target labels
    (``target_access == "labeled"``, the upper bound) are left out of the table,
    the ranks, the baseline and every comparison; they form a leaderboard of
    their own in :attr:`Leaderboard.upper_bound`, shown apart."""
    upper = [r for r in records if r.target_access == LABELED_ACCESS]
    rest = [r for r in records if r.target_access != LABELED_ACCESS]
    if upper and not rest:
        raise UserError(
            "only upper-bound runs (trained on target labels) to report; they are never "
            "ranked on their own: run the adapters and source_only too"
        )
    lb = _build(rest, metric, selection)
    if any(r.has_metrics for r in upper):
        lb.upper_bound = _build(upper, metric, selection)
    return lb


def _build(records: list[RunRecord], metric: str, selection: str) -> Leaderboard:
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
    chosen, main_cells = pick_rows(usable, notes)
    _fairness_notes({k: v for k, v in chosen.items() if k in main_cells}, notes)
    _skipped_images_note(usable, notes)

    rows: dict[str, dict[str, Any]] = {}
    trial_rows = []
    uses_labels = False
    selected: dict[tuple[str, str], Trial] = {}
    for (m, p), trials in chosen.items():
        best = select_trial(trials, selection)
        vals = best.values(selection, field_name)
        if not vals:
            continue
        selected[(m, p)] = best
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
    lb = Leaderboard(metric, selection, pairs, table, cells=chosen, selected=selected)
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
        _baseline_stats(lb, notes)
    else:
        notes.append(f"No {BASELINE} runs: gains cannot be judged without the baseline.")
    lb.ranks = rank_summary({m: {p: table.at[m, f"{p}_mean"] for p in pairs} for m in table.index})
    table["avg_rank"] = [lb.ranks.avg_rank.get(m, math.nan) for m in table.index]
    cost_rows = {m: [_costs(t) for (r, _), t in selected.items() if r == m] for m in table.index}
    for col, _, _ in COSTS:
        table[col] = [
            pd.Series([c[col] for c in cost_rows[m]], dtype=float).mean() for m in table.index
        ]
    lb.table = table.sort_values(["rank", "avg"], na_position="last")
    lb.trials = pd.DataFrame(trial_rows)
    lb.notes = notes
    lb.uses_target_labels = uses_labels
    return lb


def _baseline_stats(lb: Leaderboard, notes: list[str]) -> None:
    """Per-pair gains with negative-transfer flags and the paired test."""
    table = lb.table
    base = {(p, s): v for p in lb.pairs for s, v in lb.seed_values(BASELINE, p).items()}
    for p in lb.pairs:
        table[f"{p}_gain"] = table[f"{p}_mean"] - table.at[BASELINE, f"{p}_mean"]
        table[f"{p}_negative"] = table[f"{p}_gain"] < 0
    tests = {}
    for m in table.index:
        if m == BASELINE:
            continue
        ours = {(p, s): v for p in lb.pairs for s, v in lb.seed_values(m, p).items()}
        tests[m] = paired_test(ours, base)
    lb.tests = tests
    table["paired_n"] = [tests[m].n if m in tests else 0 for m in table.index]
    table["p_value"] = [tests[m].p_value if m in tests else math.nan for m in table.index]
    table["vs_baseline"] = [tests[m].verdict if m in tests else "baseline" for m in table.index]
    neg = [
        f"{m} on {p} ({table.at[m, f'{p}_gain']:+.2f})"
        for m in table.index
        for p in lb.pairs
        if m != BASELINE and bool(table.at[m, f"{p}_negative"])
    ]
    if neg:
        notes.append("Negative transfer (below source_only's mean): " + ", ".join(neg) + ".")
