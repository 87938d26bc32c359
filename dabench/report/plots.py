"""Plots of a leaderboard, as PNG bytes (matplotlib ``Figure`` objects drawn
with Agg: no display, no pyplot state, no change to the caller's backend).

Every function returns ``None`` when it has nothing to draw, so the HTML page
can say so instead of showing an empty frame.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from dabench.report.leaderboard import Leaderboard

DPI = 90


def _subplots(figsize: tuple[float, float]):
    fig = Figure(figsize=figsize)
    return fig, fig.subplots()


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def bars(lb: Leaderboard) -> bytes | None:
    """Mean per method and pair with 95% t-interval error bars."""
    t = lb.table
    if not lb.pairs:
        return None
    methods = list(t.index)
    width = 0.8 / max(len(methods), 1)
    fig, ax = _subplots((max(6, 1.6 * len(lb.pairs) + 2), 4))
    x = np.arange(len(lb.pairs))
    for i, m in enumerate(methods):
        means = [t.at[m, f"{p}_mean"] for p in lb.pairs]
        # No error bar where there is no interval (a single seed).
        ci = [t.at[m, f"{p}_ci95"] for p in lb.pairs]
        ci = None if all(math.isnan(c) for c in ci) else [0 if math.isnan(c) else c for c in ci]
        ax.bar(x + i * width - 0.4 + width / 2, means, width, yerr=ci, capsize=3, label=m)
    ax.set_xticks(x, lb.pairs, rotation=20, ha="right")
    ax.set_ylabel(f"target test {lb.metric} (%)")
    ax.set_title("Mean over seeds, 95% t-interval (none with one seed)")
    ax.legend(fontsize=8)
    return _png(fig)


def heatmap(lb: Leaderboard) -> bytes | None:
    """Method × pair means, annotated."""
    t = lb.table
    if not lb.pairs:
        return None
    mat = np.array([[t.at[m, f"{p}_mean"] for p in lb.pairs] for m in t.index], dtype=float)
    fig, ax = _subplots((max(5, 1.3 * len(lb.pairs) + 2), 0.5 * len(t.index) + 1.5))
    im = ax.imshow(mat, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(lb.pairs)), lb.pairs, rotation=20, ha="right")
    ax.set_yticks(range(len(t.index)), list(t.index))
    finite = mat[np.isfinite(mat)]
    mid = finite.mean() if finite.size else 0
    for i in range(mat.shape[0]):
        for j in range(mat.shape[1]):
            if np.isfinite(mat[i, j]):
                ax.text(
                    j,
                    i,
                    f"{mat[i, j]:.1f}",
                    ha="center",
                    va="center",
                    color="white" if mat[i, j] < mid else "black",
                    fontsize=8,
                )
    fig.colorbar(im, ax=ax, label=f"{lb.metric} (%)")
    return _png(fig)


def cost_scatter(lb: Leaderboard) -> bytes | None:
    """Average accuracy against mean training time per method."""
    t = lb.table
    score = t["avg"].where(t["avg"].notna(), t[[f"{p}_mean" for p in lb.pairs]].mean(axis=1))
    ok = t["train_s"].notna() & score.notna()
    if not ok.any():
        return None
    fig, ax = _subplots((6, 4))
    for m in t.index[ok]:
        ax.scatter(t.at[m, "train_s"], score[m], s=40)
        ax.annotate(
            m, (t.at[m, "train_s"], score[m]), fontsize=8, xytext=(4, 4), textcoords="offset points"
        )
    ax.set_xlabel("train time per run (s, mean)")
    ax.set_ylabel(f"mean target test {lb.metric} over pairs (%)")
    ax.set_title("Accuracy against cost")
    return _png(fig)


def curves(lb: Leaderboard, results: Path, pair: str) -> bytes | None:
    """Source-val and target-val (oracle) accuracy per step of the selected runs on a pair."""
    fig, ax = _subplots((6.5, 3.8))
    drawn = 0
    for i, m in enumerate(lb.table.index):
        t = lb.selected.get((m, pair))
        if t is None:
            continue
        for r in t.scored():
            path = Path(results) / "curves" / f"{r.run_id}.csv"
            if not path.is_file():
                continue
            df = pd.read_csv(path)
            if "step" not in df or "source_val_acc" not in df:
                continue
            colour = f"C{i % 10}"
            ax.plot(
                df["step"],
                100 * df["source_val_acc"],
                color=colour,
                alpha=0.8,
                label=f"{m} source val" if drawn == 0 or r is t.scored()[0] else None,
            )
            if "target_val_acc_oracle" in df:
                ax.plot(
                    df["step"],
                    100 * df["target_val_acc_oracle"],
                    color=colour,
                    ls="--",
                    alpha=0.8,
                    label=f"{m} target val (oracle)" if r is t.scored()[0] else None,
                )
            drawn += 1
    if not drawn:
        return None
    ax.set_xlabel("step")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(f"Training curves on {pair} (every seed of the selected trial)")
    ax.legend(fontsize=7)
    return _png(fig)


def confusion(matrix: np.ndarray, classes: list[str], title: str) -> bytes | None:
    if matrix.size == 0:
        return None
    k = len(classes)
    size = min(9, 2.5 + 0.3 * k)
    fig, ax = _subplots((size, size * 0.85))
    rows = matrix.sum(axis=1, keepdims=True)
    norm = np.divide(matrix, rows, out=np.zeros_like(matrix, dtype=float), where=rows > 0)
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    if k <= 20:
        ax.set_xticks(range(k), classes, rotation=90, fontsize=7)
        ax.set_yticks(range(k), classes, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, label="fraction of true class")
    return _png(fig)


def kshot(points: dict[str, list[tuple[int, float]]], pair: str) -> bytes | None:
    """Accuracy against labelled target shots, one line per method."""
    if not points:
        return None
    fig, ax = _subplots((6, 3.8))
    for m, pts in sorted(points.items()):
        pts = sorted(pts)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=m)
    ax.set_xlabel("labelled target images per class (shots)")
    ax.set_ylabel("target test accuracy (%)")
    ax.set_title(f"k-shot curve on {pair}")
    ax.legend(fontsize=8)
    return _png(fig)


def embedding(src: np.ndarray, tgt: np.ndarray, title: str) -> bytes:
    """2-D PCA of source and target features."""
    x = np.concatenate([src, tgt]).astype(float)
    x = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    z = x @ vt[:2].T
    fig, ax = _subplots((5, 4))
    ax.scatter(z[: len(src), 0], z[: len(src), 1], s=6, alpha=0.6, label="source")
    ax.scatter(z[len(src) :, 0], z[len(src) :, 1], s=6, alpha=0.6, label="target")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    return _png(fig)
