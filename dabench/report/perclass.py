"""Per-class metrics of one pair (``dabench report --per-class PAIR``).

For each row of the leaderboard that has the pair, the selected trial's
records give per-class precision, recall and F1 (means over seeds, %) and the
confusion matrix of the selected checkpoint on target test, summed over seeds
(rows: true class, columns: predicted). Records made before per-class metrics
were kept have none and are counted, not guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dabench.errors import UserError
from dabench.report.leaderboard import Leaderboard


@dataclass
class PerClass:
    method: str
    pair: str
    classes: list[str]
    table: pd.DataFrame  # class, precision, recall, f1, support
    confusion: np.ndarray  # summed over seeds
    seeds: int
    missing: int  # selected runs without per-class metrics

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "pair": self.pair,
            "seeds": self.seeds,
            "missing": self.missing,
            "classes": self.classes,
            "table": self.table.to_dict(orient="records"),
            "confusion": self.confusion.tolist(),
        }


def per_class(lb: Leaderboard, pair: str) -> list[PerClass]:
    """Per-class metrics of every row on ``pair``, under the leaderboard's rule."""
    if pair not in lb.pairs:
        raise UserError(
            f"no results for pair {pair!r} in this report; pairs: {', '.join(lb.pairs) or 'none'}"
        )
    out = []
    for m in lb.table.index:
        t = lb.selected.get((m, pair))
        if t is None:
            continue
        found = [
            r.by_selection[lb.selection].per_class
            for r in t.scored()
            if lb.selection in r.by_selection and r.by_selection[lb.selection].per_class
        ]
        missing = len(t.scored()) - len(found)
        if not found:
            out.append(PerClass(m, pair, [], pd.DataFrame(), np.zeros((0, 0)), 0, missing))
            continue
        classes = list(found[0]["classes"])
        table = pd.DataFrame({"class": classes})
        for key in ("precision", "recall", "f1"):
            table[key] = 100.0 * np.mean([pc[key] for pc in found], axis=0)
        table["support"] = np.mean([pc["support"] for pc in found], axis=0)
        conf = np.sum([np.asarray(pc["confusion"]) for pc in found], axis=0)
        out.append(PerClass(m, pair, classes, table, conf, len(found), missing))
    return out


def per_class_markdown(items: list[PerClass]) -> str:
    lines = []
    for pc in items:
        lines.append(f"**{pc.method} on {pc.pair}** ({pc.seeds} seed(s))")
        lines.append("")
        if pc.table.empty:
            lines += [f"No per-class metrics recorded ({pc.missing} run(s) predate them).", ""]
            continue
        lines.append(pc.table.round(2).to_markdown(index=False))
        lines.append("")
        conf = pd.DataFrame(pc.confusion, index=pc.classes, columns=pc.classes)
        conf.index.name = "true \\ predicted"
        lines.append(conf.reset_index().to_markdown(index=False))
        lines.append("")
    return "\n".join(lines)
