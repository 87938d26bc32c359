"""Opt-in feature samples for the report's source/target embedding plot.

With ``DABENCH_FEATURE_SAMPLE=N`` in the environment, a finished run saves the
backbone features of up to N source-validation and N target-test images (the
first N of each split, so every method of a pair embeds the same images) as
``features/<run_id>.npz`` with float16 arrays ``source`` and ``target``. The
setting changes no result, so it is not part of the config or the run key.
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

import numpy as np
import torch

log = logging.getLogger(__name__)
ENV = "DABENCH_FEATURE_SAMPLE"
FEATURES_DIR = "features"


def requested() -> int:
    """How many images per domain to save (0: none)."""
    raw = os.environ.get(ENV, "").strip()
    try:
        return max(int(raw), 0) if raw else 0
    except ValueError:
        log.warning("ignoring %s=%r: not a whole number", ENV, raw)
        return 0


@torch.no_grad()
def _features(method, ds, n: int, device: torch.device) -> np.ndarray:
    from dabench.data.base import ordered_batches

    was = method.training
    method.eval()
    out, have = [], 0
    for b in ordered_batches(ds, min(n, 256)):
        out.append(method.backbone(b.to(device).x).float().cpu().numpy())
        have += len(out[-1])
        if have >= n:
            break
    method.train(was)
    f = np.concatenate(out)[:n] if out else np.zeros((0, 1))
    return f.reshape(len(f), -1).astype(np.float16)


def save_sample(method, splits, device: torch.device, results: Path, run_id: str, n: int) -> Path:
    """Write ``features/<run_id>.npz`` for ``method`` as trained (its last step)."""
    from dabench.records import atomic_write_bytes

    src = splits.source_val if len(splits.source_val) else splits.source_train
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        source=_features(method, src, n, device),
        target=_features(method, splits.target_test, n, device),
    )
    path = Path(results) / FEATURES_DIR / f"{run_id}.npz"
    atomic_write_bytes(path, buf.getvalue())
    return path
