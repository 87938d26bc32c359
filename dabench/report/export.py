"""Machine-readable leaderboards: long-form CSV and JSON.

The long CSV has one row per (method, pair, seed, rule, metric): for every
selection rule the records hold, the trial that rule selects in each cell and
the value its checkpoint got. It is the input for any statistics a reader
wants to redo. The JSON holds the table, the tests, the ranks, the selected
trials, the references and the notes.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from dabench.report.leaderboard import Leaderboard
from dabench.report.trials import select_trial

LONG_METRICS = ("target_test_acc", "target_test_f1", "source_val_acc")
LONG_COLUMNS = [
    "method",
    "pair",
    "seed",
    "rule",
    "metric",
    "value",
    "trial",
    "status",
    "uses_target_labels",
    "run_id",
]


def long_frame(lb: Leaderboard) -> pd.DataFrame:
    """One row per (method, pair, seed, rule, metric); values in %."""
    rows = []
    for (m, p), trials in sorted(lb.cells.items()):
        rules = sorted({rule for t in trials for r in t.scored() for rule in r.by_selection})
        for rule in rules:
            best = select_trial(trials, rule)
            for r in sorted(best.scored(), key=lambda r: r.seed):
                sel = r.by_selection.get(rule)
                if sel is None:
                    continue
                for metric in LONG_METRICS:
                    v = getattr(sel, metric)
                    rows.append(
                        {
                            "method": m,
                            "pair": p,
                            "seed": r.seed,
                            "rule": rule,
                            "metric": metric,
                            "value": None if v is None else round(100.0 * float(v), 4),
                            "trial": best.hparams_seed,
                            "status": r.status,
                            "uses_target_labels": sel.uses_target_labels,
                            "run_id": r.run_id,
                        }
                    )
    return pd.DataFrame(rows, columns=LONG_COLUMNS)


def to_long_csv(lb: Leaderboard) -> str:
    return long_frame(lb).to_csv(index=False)


def _clean(x: Any) -> Any:
    """JSON-safe: NaN and infinities become null, numpy scalars plain numbers."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if hasattr(x, "item") and not isinstance(x, (str, bytes)):
        x = x.item()
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return None
    return x


def to_dict(lb: Leaderboard) -> dict[str, Any]:
    """Everything the report knows, as plain data."""
    table = lb.table.reset_index()
    return _clean(
        {
            "metric": lb.metric,
            "selection": lb.selection,
            "uses_target_labels": lb.uses_target_labels,
            "interval": "95% Student-t over seeds (ci95 = half-width)",
            "pairs": lb.pairs,
            "table": table.to_dict(orient="records"),
            "paired_tests": {
                m: {"n": t.n, "mean_diff": t.mean_diff, "p_value": t.p_value, "verdict": t.verdict}
                for m, t in lb.tests.items()
            },
            "ranks": {
                "pairs": lb.ranks.pairs,
                "avg_rank": lb.ranks.avg_rank,
                "friedman_p": lb.ranks.friedman_p,
                "nemenyi_cd": lb.ranks.cd,
                "groups": lb.ranks.groups,
            },
            "trials": lb.trials.to_dict(orient="records"),
            "references": lb.references.to_dict(orient="records"),
            "notes": lb.notes,
        }
    )


def to_json(lb: Leaderboard) -> str:
    return json.dumps(to_dict(lb), indent=2, ensure_ascii=False) + "\n"
