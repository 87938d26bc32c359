"""The leaderboard as a LaTeX table (``booktabs``).

Each cell is the mean with the 95% t-interval half-width in small type; the
best mean per column is bold. Needs ``\\usepackage{booktabs}`` in the preamble.
"""

from __future__ import annotations

import math

from dabench.report.leaderboard import BASELINE, Leaderboard
from dabench.report.render import title

_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def escape(text: str) -> str:
    """``text`` with LaTeX's special characters escaped."""
    return "".join(_ESCAPES.get(c, c) for c in str(text)).replace("±", r"$\pm$")


def _cell(mean: float, ci: float, best: bool) -> str:
    if math.isnan(mean):
        return "--"
    m = f"{mean:.2f}"
    if best:
        m = rf"\textbf{{{m}}}"
    if not math.isnan(ci):
        m += rf"{{\scriptsize $\pm$ {ci:.2f}}}"
    return m


def to_latex(lb: Leaderboard) -> str:
    t = lb.table
    cols = [(p, f"{p}_mean", f"{p}_ci95") for p in lb.pairs] + [("avg", "avg", None)]
    best = {}
    for _, mean_col, _ in cols:
        vals = t[mean_col].dropna()
        best[mean_col] = vals.max() if len(vals) else math.nan
    has_base = BASELINE in t.index and lb.tests
    head = ["method", *[escape(c) for c, _, _ in cols]]
    if has_base:
        head.append(rf"$p$ vs {escape(BASELINE)}")
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        rf"\caption{{{escape(title(lb))}. Best mean per column in bold; "
        r"$\pm$: 95\% Student-$t$ interval half-width.}",
        r"\begin{tabular}{l" + "r" * (len(head) - 1) + "}",
        r"\toprule",
        " & ".join(head) + r" \\",
        r"\midrule",
    ]
    for m in t.index:
        cells = [escape(m)]
        for _, mean_col, ci_col in cols:
            mean = float(t.at[m, mean_col])
            ci = float(t.at[m, ci_col]) if ci_col else math.nan
            cells.append(_cell(mean, ci, not math.isnan(mean) and mean == best[mean_col]))
        if has_base:
            test = lb.tests.get(m)
            if m == BASELINE or test is None or math.isnan(test.p_value):
                cells.append("--")
            else:
                p = f"{test.p_value:.3f}" if test.p_value >= 0.001 else "<0.001"
                cells.append(rf"\textbf{{{p}}}" if test.verdict == "beats" else p)
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"
