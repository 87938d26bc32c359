"""Statistics of a leaderboard: intervals, gains, a paired test and average ranks.

* **Interval**: mean ± the half-width of a two-sided 95% Student-t interval
  over seeds, ``t(0.975, n-1) · s / √n`` with the sample standard deviation.
* **Transfer gain**: a method's mean minus ``source_only``'s mean on the same
  pair; a negative gain is flagged as negative transfer.
* **Paired test**: a method's and ``source_only``'s selected trials, matched on
  (pair, seed), compared by the two-sided Wilcoxon signed-rank test
  (scipy; exact when there are no ties, else the normal approximation). A
  method *beats* the baseline only when ``p < ALPHA`` and its mean paired
  difference is positive.
* **Average ranks** over the pairs every ranked method has (1 = best, ties
  averaged), the Friedman test over them and the Nemenyi critical difference
  ``CD = q_α / √2 · √(k(k+1) / 6N)`` (Demšar 2006): two methods whose average
  ranks differ by less than CD are not significantly different.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

ALPHA = 0.05
TEST_NAME = "Wilcoxon signed-rank, two-sided"


def ci95(values: list[float]) -> float:
    """Half-width of the two-sided 95% t-interval of the mean; NaN below 2 values."""
    n = len(values)
    if n < 2:
        return float("nan")
    sd = float(np.std(values, ddof=1))
    return float(stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n))


@dataclass
class PairedTest:
    n: int
    mean_diff: float
    p_value: float
    verdict: str  # "beats", "worse", "n.s.", "no difference" or "too few pairs"


def paired_test(
    ours: dict[tuple[str, int], float], base: dict[tuple[str, int], float]
) -> PairedTest:
    """Wilcoxon signed-rank over the (pair, seed) keys both sides have."""
    keys = sorted(set(ours) & set(base))
    diffs = np.array([ours[k] - base[k] for k in keys], dtype=float)
    if len(diffs) == 0:
        return PairedTest(0, float("nan"), float("nan"), "too few pairs")
    mean = float(diffs.mean())
    if not np.any(diffs != 0):
        return PairedTest(len(diffs), mean, 1.0, "no difference")
    if len(diffs) < 2:
        return PairedTest(len(diffs), mean, float("nan"), "too few pairs")
    p = float(stats.wilcoxon(diffs, alternative="two-sided").pvalue)
    verdict = "n.s."
    if p < ALPHA:
        verdict = "beats" if mean > 0 else "worse"
    return PairedTest(len(diffs), mean, p, verdict)


@dataclass
class RankSummary:
    """Average ranks over ``pairs`` and the Nemenyi critical difference."""

    pairs: list[str]
    avg_rank: dict[str, float] = field(default_factory=dict)
    friedman_p: float = float("nan")
    cd: float = float("nan")
    # Groups of methods whose average ranks lie within CD of each other.
    groups: list[list[str]] = field(default_factory=list)

    def text(self) -> str:
        if len(self.avg_rank) < 2 or not self.pairs:
            return "Average ranks need at least two methods with results on common pairs."
        ranks = ", ".join(
            f"{m} {r:.2f}" for m, r in sorted(self.avg_rank.items(), key=lambda x: x[1])
        )
        line = (
            f"Average rank over {len(self.pairs)} pair(s) (1 = best): {ranks}. "
            f"Friedman p = {_p(self.friedman_p)}; Nemenyi critical difference at α = {ALPHA}: "
            f"{self.cd:.2f}"
        )
        tied = [g for g in self.groups if len(g) > 1]
        if tied:
            line += "; not significantly different: " + "; ".join(", ".join(g) for g in tied)
        return line + "."


def _p(p: float) -> str:
    if math.isnan(p):
        return "n/a"
    return f"{p:.3g}" if p >= 0.001 else "<0.001"


def nemenyi_cd(k: int, n: int, alpha: float = ALPHA) -> float:
    """Nemenyi critical difference for ``k`` methods ranked on ``n`` datasets."""
    if k < 2 or n < 1:
        return float("nan")
    q = stats.studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2)
    return float(q * math.sqrt(k * (k + 1) / (6.0 * n)))


def rank_summary(means: dict[str, dict[str, float]]) -> RankSummary:
    """``means[method][pair]`` -> average ranks over the pairs all methods have.

    Methods missing from most pairs would shrink the common set; only methods
    with the largest pair coverage are ranked."""
    have = {m: {p for p, v in d.items() if not math.isnan(v)} for m, d in means.items()}
    if not have:
        return RankSummary([])
    most = max(len(s) for s in have.values())
    methods = sorted(m for m, s in have.items() if len(s) == most)
    pairs = sorted(set.intersection(*(have[m] for m in methods))) if methods else []
    out = RankSummary(pairs)
    if len(methods) < 2 or not pairs:
        return out
    mat = np.array([[means[m][p] for m in methods] for p in pairs])  # pairs x methods
    ranks = np.vstack([stats.rankdata(-row) for row in mat])
    avg = ranks.mean(axis=0)
    out.avg_rank = {m: float(r) for m, r in zip(methods, avg, strict=True)}
    if len(pairs) >= 2 and len(methods) >= 3:
        try:
            out.friedman_p = float(stats.friedmanchisquare(*mat.T).pvalue)
        except ValueError:
            pass
    out.cd = nemenyi_cd(len(methods), len(pairs))
    order = sorted(out.avg_rank, key=out.avg_rank.get)
    groups: list[list[str]] = []
    for i, m in enumerate(order):
        g = [x for x in order[i:] if out.avg_rank[x] - out.avg_rank[m] < out.cd]
        if not groups or not set(g) <= set(groups[-1]):
            groups.append(g)
    out.groups = groups
    return out
