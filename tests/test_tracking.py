"""Experiment tracking: a recorded run exported to MLflow and TensorBoard reads
back with the record's numbers; a missing package is a one-line error."""

from __future__ import annotations

import csv
import sys

import pytest
from click.testing import CliRunner

from dabench.cli import main
from dabench.records import load_records


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    results = tmp_path_factory.mktemp("track") / "results"
    results.mkdir()
    args = ["run", "-m", "source_only", "-p", "digits2mnist", "--results", str(results)]
    args += ["--steps", "6", "--set", "train.eval_every=3", "--set", "train.batch_size=8"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    (rec,) = load_records(results)
    with (results / "curves" / f"{rec.run_id}.csv").open() as f:
        curve = list(csv.DictReader(f))
    assert len(curve) == 2
    return results, rec, curve


def test_mlflow_gets_params_final_metrics_and_the_curve(recorded, tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow.tracking import MlflowClient

    results, rec, curve = recorded
    store = tmp_path / "mlruns"
    args = ["track", "--to", "mlflow", "--results", str(results), "--uri", str(store)]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0 and "1 of 1 records exported" in r.output, r.output
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0 and "0 of 1 records exported" in r.output, "backfill is idempotent"

    client = MlflowClient(tracking_uri=store.resolve().as_uri())
    exp = client.get_experiment_by_name("dabench")
    (run,) = client.search_runs([exp.experiment_id])
    assert run.data.tags["dabench.run_id"] == rec.run_id and run.data.tags["status"] == "ok"
    assert run.data.params["method"] == "source_only"
    assert run.data.params["train.steps"] == "6" and run.data.params["train.lr"] == str(
        rec.config["train"]["lr"]
    )
    for rule, sel in rec.by_selection.items():
        assert run.data.metrics[f"{rule}/target_test_acc"] == sel.target_test_acc
        assert run.data.metrics[f"{rule}/source_val_acc"] == sel.source_val_acc
    history = client.get_metric_history(run.info.run_id, "curve/source_val_acc")
    assert [(m.step, m.value) for m in sorted(history, key=lambda m: m.step)] == [
        (int(row["step"]), float(row["source_val_acc"])) for row in curve
    ]


def test_tensorboard_gets_the_curve_and_final_metrics(recorded, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    results, rec, curve = recorded
    logdir = tmp_path / "tb"
    r = CliRunner().invoke(
        main, ["track", "--to", "tensorboard", "--results", str(results), "--uri", str(logdir)]
    )
    assert r.exit_code == 0 and "1 of 1 records exported" in r.output, r.output
    acc = EventAccumulator(str(logdir / rec.run_id))
    acc.Reload()
    loss = [(e.step, e.value) for e in acc.Scalars("curve/loss")]
    assert loss == [
        (int(row["step"]), pytest.approx(float(row["loss"]), rel=1e-6)) for row in curve
    ]
    sel = rec.by_selection["source_val"]
    (final,) = acc.Scalars("source_val/target_test_acc")
    assert final.step == sel.step and final.value == pytest.approx(sel.target_test_acc, rel=1e-6)


@pytest.mark.parametrize("backend", ["mlflow", "tensorboard"])
def test_a_missing_package_names_the_extra(backend, recorded, tmp_path, monkeypatch):
    results, _, _ = recorded
    monkeypatch.setitem(sys.modules, backend, None)  # import fails as if not installed
    r = CliRunner().invoke(main, ["track", "--to", backend, "--results", str(results)])
    assert r.exit_code == 2, r.output
    assert f"needs the {backend} package: pip install 'dabench[tracking]'" in r.output
    suite = tmp_path / "s.yaml"
    suite.write_text("methods: [source_only]\npairs: [digits2mnist]\nseeds: [0]\n")
    res = tmp_path / "res"
    r = CliRunner().invoke(main, ["sweep", str(suite), "--results", str(res), "--track", backend])
    assert r.exit_code == 2 and "dabench[tracking]" in r.output, r.output
    assert not (res / "runs").exists(), "checked before anything ran"
