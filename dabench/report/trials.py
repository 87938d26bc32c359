"""Hyperparameter selection over trials, by the same rule that picks checkpoints.

Records of one method on one pair are grouped into

* a **setup**: everything that is not searched (budget, batch size, backbone,
  schedule, split seed, ...). Different setups are different experiments;
* **trials** within a setup: one per distinct set of searched values
  (``train.lr``, ``train.weight_decay``, ``hparams.*``), i.e. per
  ``hparams_seed`` of a search. Each trial holds one record per seed.

A rule picks, per (method, pair, setup), the trial with the best mean score
over seeds (DomainBed's protocol): the score each record's checkpoint got under
that rule (source-validation accuracy for ``source_val``, a validator's value
for ``entropy``/``im``/``snd``, target-validation accuracy for ``oracle``,
which reads target labels and is always marked so). Means are taken over the
seeds every trial of the setup has, so a search run with one seed per trial and
the winner rerun with more seeds is judged on equal terms; the winner is then
reported over all its seeds. Trials with a collapsed, diverged or failed run
rank below every healthy trial. ``last`` has no score: it reports trial 0
(the defaults) as it reports the last step.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from dabench.fewshot_label import protocol_label
from dabench.records import RunRecord

# Config keys a search draws: the trainer's searched optimizer settings and
# every method hyperparameter. Kept in sync with config.TRAIN_SEARCH by test.
SEARCHED_TRAIN_KEYS = ("lr", "weight_decay")
# Keys that never change a result or only label it.
_IGNORED = ("seed", "hparams_seed", "device")


def searched_values(rec: RunRecord) -> dict[str, Any]:
    cfg = rec.config
    train = cfg.get("train", {})
    out = {f"train.{k}": train[k] for k in SEARCHED_TRAIN_KEYS if k in train}
    out.update({f"hparams.{k}": v for k, v in sorted((cfg.get("hparams") or {}).items())})
    return out


def setup_key(rec: RunRecord) -> str:
    cfg = {k: v for k, v in rec.config.items() if k not in _IGNORED and k != "hparams"}
    train = {
        k: v
        for k, v in (cfg.get("train") or {}).items()
        if k not in SEARCHED_TRAIN_KEYS and k != "selection"
    }
    # Few-shot episodes are repeated draws of one setting: pooled like seeds.
    # shots/ways of 0 (not few-shot) are what records without those keys meant.
    data = {
        k: v
        for k, v in (cfg.get("data") or {}).items()
        if k not in ("root", "download", "episode") and not (k in ("shots", "ways") and not v)
    }
    cfg.update(train=train, data=data)
    return json.dumps(cfg, sort_keys=True, default=str)


def trial_key(rec: RunRecord) -> str:
    return json.dumps(searched_values(rec), sort_keys=True, default=str)


@dataclass
class Trial:
    method: str
    pair: str
    setup: str
    params: dict[str, Any]
    records: list[RunRecord] = field(default_factory=list)

    @property
    def hparams_seed(self) -> int:
        return min(r.hparams_seed for r in self.records)

    @property
    def healthy(self) -> bool:
        return all(r.status == "ok" for r in self.records)

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.records)

    def scored(self) -> list[RunRecord]:
        """Records that have metrics (ok or collapsed runs)."""
        return [r for r in self.records if r.has_metrics]

    def seeds(self) -> set[tuple[int, int]]:
        """Replicates with results: (seed, few-shot episode) pairs."""
        return {replicate(r) for r in self.scored()}

    def score(self, rule: str, seeds: set[tuple[int, int]] | None) -> float:
        vals = [
            r.by_selection[rule].score
            for r in self.scored()
            if (seeds is None or replicate(r) in seeds)
            and rule in r.by_selection
            and r.by_selection[rule].score is not None
        ]
        return sum(vals) / len(vals) if vals else -math.inf

    def values(self, rule: str, field_name: str) -> list[float]:
        out = []
        for r in sorted(self.scored(), key=replicate):
            sel = r.by_selection.get(rule)
            v = None if sel is None else getattr(sel, field_name)
            if v is not None:
                out.append(100.0 * float(v))
        return out


def replicate(rec: RunRecord) -> tuple[int, int]:
    return rec.seed, int((rec.config.get("data") or {}).get("episode") or 0)


def group_trials(records: list[RunRecord]) -> dict[tuple[str, str, str], list[Trial]]:
    """``{(row label, pair, setup): [Trial, ...]}``, trials in order of hparams_seed.
    The row label is the method, with its k (and n) for few-shot runs."""
    groups: dict[tuple[str, str, str], dict[str, Trial]] = {}
    for rec in records:
        s = setup_key(rec)
        label = protocol_label(rec.method, rec.config)
        trials = groups.setdefault((label, rec.pair, s), {})
        k = trial_key(rec)
        if k not in trials:
            trials[k] = Trial(label, rec.pair, s, searched_values(rec))
        trials[k].records.append(rec)
    return {
        key: sorted(ts.values(), key=lambda t: (t.hparams_seed, json.dumps(t.params, default=str)))
        for key, ts in groups.items()
    }


def selection_seeds(trials: list[Trial]) -> set[tuple[int, int]] | None:
    """Replicates every trial has results for; None (use each trial's own) if none."""
    common: set[tuple[int, int]] | None = None
    # A trial with no results (every run diverged or failed) has nothing to
    # compare; it must not empty the common set and change how the rest are judged.
    for t in trials:
        if not t.seeds():
            continue
        common = t.seeds() if common is None else common & t.seeds()
    return common or None


def select_trial(trials: list[Trial], rule: str) -> Trial:
    """The trial ``rule`` picks among ``trials`` of one (method, pair, setup)."""
    if not trials:
        raise ValueError("no trials to select from")
    from dabench.selection import SELECTORS

    if rule in SELECTORS and not SELECTORS.get(rule).ranks_trials:
        return min(trials, key=lambda t: (t.hparams_seed, -len(t.seeds())))
    seeds = selection_seeds(trials)
    return max(
        trials,
        key=lambda t: (t.healthy, t.score(rule, seeds), len(t.seeds()), -t.hparams_seed),
    )


def describe_params(params: dict[str, Any]) -> str:
    return ", ".join(
        f"{k.split('.', 1)[1]}={v:.4g}" if isinstance(v, float) else f"{k.split('.', 1)[1]}={v}"
        for k, v in params.items()
    )
