from __future__ import annotations

import json

from dabench.records import (
    SCHEMA_VERSION,
    RunRecord,
    Selected,
    atomic_write_text,
    load_records,
    read_record,
    write_record,
)


def _rec(run_id: str) -> RunRecord:
    return RunRecord(
        run_id=run_id,
        method="dann",
        pair="mnist2digits",
        seed=0,
        status="ok",
        config_hash="abc",
        by_selection={"source_val": Selected(200, 0.97, 0.5, 0.45, 0.97)},
    )


def test_round_trip(tmp_path):
    rec = _rec("dann__mnist2digits__s0__abc")
    path = write_record(tmp_path, rec)
    assert path == tmp_path / "runs" / "dann__mnist2digits__s0__abc.json"
    assert read_record(path) == rec
    assert load_records(tmp_path) == [rec]
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [path.name], "no temp files left"


def test_headline_metrics_have_the_shape_of_by_selection(tmp_path):
    rec = _rec("r")
    raw = json.loads(write_record(tmp_path, rec).read_text())
    assert raw["schema"] == SCHEMA_VERSION
    assert raw["metrics"] == raw["by_selection"]["source_val"]
    assert rec.metrics == rec.by_selection["source_val"]


def test_corrupt_and_foreign_files_are_skipped(tmp_path, caplog):
    write_record(tmp_path, _rec("ok_one"))
    (tmp_path / "runs" / "broken.json").write_text("{not json")
    (tmp_path / "runs" / "other.json").write_text(json.dumps({"hello": 1}))
    (tmp_path / "runs" / "binary.json").write_bytes(b"\xff\xfe\x00garbage")
    recs = load_records(tmp_path)
    assert [r.run_id for r in recs] == ["ok_one"]
    for name in ("broken.json", "other.json", "binary.json"):
        assert name in caplog.text


# A record exactly as schema 1 wrote it (trimmed of provenance).
V1 = {
    "schema": 1,
    "run_id": "coral__mnist2digits__s2__14569988dca8",
    "method": "coral",
    "pair": "mnist2digits",
    "pair_version": 1,
    "seed": 2,
    "backbone": "dann_digits",
    "target_access": "unlabeled",
    "config": {"method": "coral", "pair": "mnist2digits", "seed": 2, "train": {"lr": 0.03}},
    "config_hash": "14569988dca8",
    "status": "ok",
    "error": None,
    "metrics": {"target_test_acc": 0.9, "target_test_f1": 0.89, "source_val_acc": 0.97},
    "selection": {"rule": "source_val", "step": 1800, "uses_target_labels": False},
    "by_selection": {
        "source_val": {
            "step": 1800,
            "target_test_acc": 0.9,
            "target_test_f1": 0.89,
            "source_val_acc": 0.97,
            "uses_target_labels": False,
        },
        "oracle": {
            "step": 2000,
            "target_test_acc": 0.91,
            "target_test_f1": 0.9,
            "source_val_acc": 0.96,
            "uses_target_labels": True,
        },
    },
    "timing": {"steps": 2000},
    "created": "2026-11-20T10:00:00+00:00",
}


def test_schema_1_records_are_migrated(tmp_path):
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "old.json").write_text(json.dumps(V1))
    [rec] = load_records(tmp_path)
    assert rec.schema == SCHEMA_VERSION
    assert rec.selection == "source_val"
    assert rec.method_version == 1 and rec.trainer_version == 1 and rec.hparams_seed == 0
    assert rec.metrics.target_test_acc == 0.9 and rec.metrics.step == 1800
    # v1 kept no scores: source_val's is its source-val accuracy, others unknown.
    assert rec.by_selection["source_val"].score == 0.97
    assert rec.by_selection["oracle"].score is None
    assert rec.by_selection["oracle"].uses_target_labels


def test_newer_schema_is_reported_and_skipped(tmp_path, caplog):
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "future.json").write_text(json.dumps(dict(V1, schema=99)))
    write_record(tmp_path, _rec("current"))
    assert [r.run_id for r in load_records(tmp_path)] == ["current"]
    assert "future.json" in caplog.text and "schema 99" in caplog.text


def test_atomic_write_keeps_old_content_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "x.json"
    target.write_text("old")

    class Boom(Exception):
        pass

    def bad_replace(src, dst):
        raise Boom

    monkeypatch.setattr("dabench.records.os.replace", bad_replace)
    try:
        atomic_write_text(target, "new")
    except Boom:
        pass
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]
