"""Optional experiment tracking: export finished records to MLflow or TensorBoard.

Records stay the source of truth. Tracking reads a record (and its curve)
after it is written, so the same functions export a sweep's runs as they finish
(``dabench sweep --track``) and backfill old ones (``dabench track --to``).
Exporting is idempotent: a run already exported (an MLflow run tagged with its
run key, a TensorBoard folder named after it) is skipped.

What is exported, for both backends:

* params: the record's fully resolved config, flattened (``train.lr``), plus
  method, pair, seed and trial (MLflow only; TensorBoard gets it as text);
* final metrics: for every selection rule, ``<rule>/target_test_acc``,
  ``<rule>/target_test_f1``, ``<rule>/source_val_acc`` and ``<rule>/score`` at
  the step that rule selected; ``extra/<name>`` for a head's extra metrics;
* the learning curve: every numeric column of ``curves/<run_id>.csv`` as
  ``curve/<column>`` at its step.

Both packages are optional: ``pip install 'dabench[tracking]'``.
"""

from __future__ import annotations

import csv
import math
import os
import time
from pathlib import Path

from dabench.errors import UserError
from dabench.records import CURVES_DIR, RunRecord

# backend -> (module that must import, default URI / folder)
BACKENDS = {"mlflow": ("mlflow", "mlruns"), "tensorboard": ("tensorboard", "tensorboard")}
FINAL_FIELDS = ("target_test_acc", "target_test_f1", "source_val_acc", "score")
RUN_TAG = "dabench.run_id"


def check_backend(name: str) -> None:
    """A user error (one line, exit 2) naming the extra to install when the
    backend is unknown or its package is missing."""
    if name not in BACKENDS:
        raise UserError(f"unknown tracking backend {name!r}; choose one of: {', '.join(BACKENDS)}")
    module = BACKENDS[name][0]
    try:
        __import__(module)
    except ImportError:
        raise UserError(
            f"tracking to {name} needs the {module} package: pip install 'dabench[tracking]'"
        ) from None


def final_metrics(rec: RunRecord) -> dict[str, tuple[float, int]]:
    """``name -> (value, step)`` of the record's final metrics."""
    out: dict[str, tuple[float, int]] = {}
    for rule, sel in rec.by_selection.items():
        for f in FINAL_FIELDS:
            v = getattr(sel, f)
            if isinstance(v, int | float) and not isinstance(v, bool):
                out[f"{rule}/{f}"] = (float(v), int(sel.step))
    for k, v in rec.extra.items():
        if isinstance(v, int | float) and not isinstance(v, bool):
            out[f"extra/{k}"] = (float(v), 0)
    return out


def curve_metrics(results: Path, run_id: str) -> list[tuple[str, float, int]]:
    """``(curve/<column>, value, step)`` for every finite numeric cell of the
    run's curve file (none if it has no curve)."""
    path = Path(results) / CURVES_DIR / f"{run_id}.csv"
    if not path.exists():
        return []
    out = []
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            step = int(float(row.pop("step")))
            for k, text in row.items():
                try:
                    v = float(text)
                except (TypeError, ValueError):
                    continue  # empty cells, True/False flags
                if math.isfinite(v):
                    out.append((f"curve/{k}", v, step))
    return out


def params(rec: RunRecord) -> dict[str, str]:
    from dabench.config import flatten

    p = {
        "method": rec.method,
        "pair": rec.pair,
        "seed": rec.seed,
        "hparams_seed": rec.hparams_seed,
    }
    p.update(flatten(rec.config))
    # MLflow caps a param value at 6000 characters.
    return {k: str(v)[:6000] for k, v in p.items()}


# ----------------------------------------------------------------- backends


def to_mlflow(
    records: list[RunRecord], results: Path, uri: str | None = None, experiment: str = "dabench"
) -> int:
    """Log each record as one MLflow run in ``experiment`` at ``uri`` (default
    the file store ``./mlruns``; any MLflow tracking URI works, e.g.
    ``sqlite:///mlflow.db``); returns how many were new."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    uri = uri or BACKENDS["mlflow"][1]
    if "://" not in uri and not uri.startswith("file:"):
        # A plain folder is MLflow's file store, which it only opens when asked to.
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        uri = Path(uri).resolve().as_uri()
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    exp_id = exp.experiment_id if exp is not None else client.create_experiment(experiment)
    new = 0
    for rec in records:
        found = client.search_runs([exp_id], filter_string=f"tags.`{RUN_TAG}` = '{rec.run_id}'")
        if found:
            continue
        tags = {
            RUN_TAG: rec.run_id,
            "status": rec.status,
            "git_sha": str(rec.provenance.get("git_sha", "")),
        }
        if rec.error:
            tags["error"] = rec.error[:5000]
        run = client.create_run(exp_id, tags=tags, run_name=rec.run_id)
        now = int(time.time() * 1000)
        metrics = [Metric(k, v, now, s) for k, (v, s) in final_metrics(rec).items()]
        metrics += [Metric(k, v, now, s) for k, v, s in curve_metrics(results, rec.run_id)]
        ps = [Param(k, v) for k, v in params(rec).items()]
        # log_batch takes at most 100 params, or 1000 metrics, per call.
        for i in range(0, len(ps), 100):
            client.log_batch(run.info.run_id, params=ps[i : i + 100])
        for i in range(0, len(metrics), 1000):
            client.log_batch(run.info.run_id, metrics=metrics[i : i + 1000])
        client.set_terminated(run.info.run_id, "FAILED" if rec.status == "failed" else "FINISHED")
        new += 1
    return new


def to_tensorboard(records: list[RunRecord], results: Path, logdir: str | None = None) -> int:
    """Write each record's curve and final metrics as event files under
    ``logdir/<run_id>/`` (default ``./tensorboard``); returns how many were new."""
    from torch.utils.tensorboard import SummaryWriter

    root = Path(logdir or BACKENDS["tensorboard"][1])
    new = 0
    for rec in records:
        folder = root / rec.run_id
        if folder.exists():
            continue
        with SummaryWriter(log_dir=str(folder)) as w:
            for k, v, s in curve_metrics(results, rec.run_id):
                w.add_scalar(k, v, s)
            for k, (v, s) in final_metrics(rec).items():
                w.add_scalar(k, v, s)
            w.add_text("config", "\n".join(f"    {k} = {v}" for k, v in params(rec).items()))
            w.add_text("status", rec.status + (f": {rec.error}" if rec.error else ""))
        new += 1
    return new


def export(
    records: list[RunRecord],
    results: Path,
    backend: str,
    uri: str | None = None,
    experiment: str = "dabench",
) -> int:
    """Export ``records`` to ``backend``; returns how many were new there."""
    check_backend(backend)
    if backend == "mlflow":
        return to_mlflow(records, results, uri, experiment)
    return to_tensorboard(records, results, uri)


def track_results(
    results: Path, backend: str, uri: str | None = None, experiment: str = "dabench"
) -> tuple[int, int]:
    """Backfill: export every record under ``results``; ``(new, total)``."""
    from dabench.api import ensure_results_dir
    from dabench.records import load_records

    check_backend(backend)
    records = load_records(ensure_results_dir(results, create=False))
    return export(records, results, backend, uri, experiment), len(records)
