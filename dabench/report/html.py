"""One self-contained static HTML page: tables and plots, no network needed.

CSS is inline and every image is a base64 ``data:`` URI, so the file can be
mailed, attached or opened offline. Sections: leaderboard, statistics, costs,
published numbers, selected trials, plots (bars with intervals, heatmap,
accuracy against cost), training curves per pair (``results/curves``),
per-class confusion matrices, k-shot curves (runs with ``data.shots > 0``) and
feature embeddings (``results/features/<run_id>.npz`` with arrays ``source``
and ``target``); a section with nothing to show says so.
"""

from __future__ import annotations

import base64
import html
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from dabench.report import plots
from dabench.report.leaderboard import Leaderboard
from dabench.report.perclass import per_class
from dabench.report.render import (
    UPPER_BOUND_TITLE,
    display_frame,
    references_frame,
    selected_frame,
    statistics_text,
    title,
    upper_bound_frame,
)

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1400px;
color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0;font-size:.85em}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:left;max-width:22em}
.wide{overflow-x:auto}
th{background:#f2f2f2}tr:nth-child(even) td{background:#fafafa}
img{max-width:100%;border:1px solid #eee;margin:.3em}
.note{color:#7a5200}.empty{color:#777;font-style:italic}.figs{display:flex;flex-wrap:wrap}
"""


def _img(png: bytes | None, alt: str) -> str:
    if png is None:
        return f'<p class="empty">{html.escape(alt)}: nothing to plot.</p>'
    data = base64.b64encode(png).decode()
    return f'<img class="plot" alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _table(df: pd.DataFrame, empty: str = "none") -> str:
    if df.empty:
        return f'<p class="empty">{html.escape(empty)}</p>'
    return (
        "<div class='wide'>" + df.to_html(index=False, escape=True, border=0, na_rep="–") + "</div>"
    )


def _kshot_points(lb: Leaderboard) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """``{pair: {method: [(shots, mean %), ...]}}`` over selected trials."""
    out: dict[str, dict[str, list[tuple[int, float]]]] = {}
    for (row, pair), t in lb.selected.items():
        shots = int((t.records[0].config.get("data") or {}).get("shots") or 0)
        vals = list(lb.seed_values(row, pair).values())
        if vals:
            method = t.records[0].method
            out.setdefault(pair, {}).setdefault(method, []).append((shots, float(np.mean(vals))))
    return {
        p: {m: pts for m, pts in d.items() if any(s > 0 for s, _ in pts)}
        for p, d in out.items()
        if any(s > 0 for pts in d.values() for s, _ in pts)
    }


def _features(lb: Leaderboard, results: Path) -> list[str]:
    parts = []
    for (row, pair), t in sorted(lb.selected.items()):
        for r in sorted(t.scored(), key=lambda r: r.seed):
            path = Path(results) / "features" / f"{r.run_id}.npz"
            if path.is_file():
                with np.load(path) as z:
                    png = plots.embedding(
                        z["source"], z["target"], f"{row} on {pair}, seed {r.seed} (PCA)"
                    )
                parts.append(_img(png, f"features {row} {pair}"))
                break
    return parts


def to_html(lb: Leaderboard, results: Path) -> str:
    """The whole report as one HTML document."""
    body = [f"<h1>dabench report</h1><p><b>{html.escape(title(lb))}</b></p>"]
    body.append(_table(display_frame(lb).reset_index()))
    if lb.upper_bound is not None:
        body.append(f"<h2>{html.escape(UPPER_BOUND_TITLE)}</h2>")
        body.append(_table(upper_bound_frame(lb)))
    body.append("<h2>Statistics</h2><ul>")
    body += [f"<li>{html.escape(x)}</li>" for x in statistics_text(lb)]
    body.append("</ul>")
    if lb.notes:
        body.append("<h2>Notes</h2><ul>")
        body += [f'<li class="note">{html.escape(n)}</li>' for n in lb.notes]
        body.append("</ul>")
    body.append("<h2>Published numbers</h2>")
    body.append(
        _table(
            references_frame(lb),
            "No published number (configs/references) matches these methods, pairs and backbones.",
        )
    )
    body.append("<h2>Selected trials</h2>")
    body.append(_table(selected_frame(lb)))
    body.append("<h2>Plots</h2><div class='figs'>")
    body.append(_img(plots.bars(lb), "bars with 95% intervals"))
    body.append(_img(plots.heatmap(lb), "method by pair heatmap"))
    body.append(_img(plots.cost_scatter(lb), "accuracy against cost"))
    body.append("</div><h2>Training curves</h2><div class='figs'>")
    body += [_img(plots.curves(lb, results, p), f"training curves {p}") for p in lb.pairs]
    body.append("</div><h2>Per-class confusion matrices (summed over seeds)</h2>")
    for p in lb.pairs:
        items = per_class(lb, p)
        figs = [
            _img(plots.confusion(pc.confusion, pc.classes, f"{pc.method} on {p}"), pc.method)
            for pc in items
            if pc.seeds
        ]
        if figs:
            body.append(f"<h3>{html.escape(p)}</h3><div class='figs'>" + "".join(figs) + "</div>")
        else:
            body.append(f'<p class="empty">{html.escape(p)}: no per-class metrics recorded.</p>')
    body.append("<h2>k-shot curves</h2>")
    kshot = _kshot_points(lb)
    if kshot:
        body.append("<div class='figs'>")
        body += [_img(plots.kshot(pts, p), f"k-shot {p}") for p, pts in sorted(kshot.items())]
        body.append("</div>")
    else:
        body.append('<p class="empty">No few-shot runs (data.shots &gt; 0) in these records.</p>')
    body.append("<h2>Feature embeddings</h2>")
    feats = _features(lb, results)
    if feats:
        body.append("<div class='figs'>" + "".join(feats) + "</div>")
    else:
        body.append(
            '<p class="empty">No run saved a feature sample (results/features/RUN_ID.npz); '
            "run with DABENCH_FEATURE_SAMPLE=N to save N source and N target features.</p>"
        )
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body.append(f"<p class='empty'>Generated by dabench from run records, {when}.</p>")
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>dabench report</title><style>{CSS}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
