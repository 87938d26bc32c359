"""The run record: one JSON file per finished (or failed) run.

Fields (schema version 1):

* ``schema``: record schema version.
* ``run_id``: ``<method>__<pair>__s<seed>__<config_hash>``.
* ``method``, ``pair``, ``pair_version``, ``seed``, ``backbone``.
* ``config``: the fully resolved :class:`~dabench.config.RunConfig`.
* ``config_hash``: hash of everything in ``config`` that changes the result.
* ``status``: ``ok``, ``failed`` or ``diverged``; ``error`` holds the message.
* ``metrics``: headline numbers under the configured selection rule:
  ``target_test_acc``, ``target_test_f1`` (macro), ``source_val_acc``.
* ``selection``: ``{"rule", "step", "uses_target_labels"}`` of the headline.
* ``by_selection``: the same metrics under every registered rule, so an honest
  number and the ``oracle`` number sit side by side.
* ``target_access``: what target data the method saw (none/unlabeled/few_shot).
* ``timing``: ``train_seconds``, ``eval_seconds``, ``total_seconds``, ``steps``.
* ``splits``: sizes of every split.
* ``provenance``: dabench version, git sha and dirty flag, torch, CUDA,
  device, Python, platform.
* ``created``: UTC timestamp.

Per-step curves are written apart, as ``curves/<run_id>.csv``.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
RUNS_DIR = "runs"
CURVES_DIR = "curves"
REQUIRED = ("run_id", "method", "pair", "seed", "status", "config_hash")


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file in the same directory, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def record_path(results: Path, run_id: str) -> Path:
    return results / RUNS_DIR / f"{run_id}.json"


def write_record(results: Path, record: dict[str, Any]) -> Path:
    path = record_path(results, record["run_id"])
    atomic_write_text(path, json.dumps(record, indent=2, sort_keys=False, default=str) + "\n")
    return path


def read_record(path: Path) -> dict[str, Any] | None:
    """A record, or None (with a warning) if the file is not a valid record."""
    try:
        rec = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        log.warning("skipping unreadable record %s: %s", path, e)
        return None
    if not isinstance(rec, dict) or any(k not in rec for k in REQUIRED):
        log.warning("skipping %s: not a dabench run record", path)
        return None
    return rec


def load_records(results: Path) -> list[dict[str, Any]]:
    """Every valid record under ``results/runs``; corrupt files are skipped."""
    runs = results / RUNS_DIR
    if not runs.is_dir():
        return []
    out = []
    for p in sorted(runs.glob("*.json")):
        rec = read_record(p)
        if rec is not None:
            out.append(rec)
    return out


def write_curve(results: Path, run_id: str, rows: list[dict[str, Any]]) -> Path:
    import pandas as pd

    path = results / CURVES_DIR / f"{run_id}.csv"
    atomic_write_text(path, pd.DataFrame(rows).to_csv(index=False))
    return path
