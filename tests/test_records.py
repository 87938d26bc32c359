from __future__ import annotations

import json

from dabench.records import atomic_write_text, load_records, read_record, write_record


def _rec(run_id: str) -> dict:
    return {
        "run_id": run_id,
        "method": "dann",
        "pair": "mnist2digits",
        "seed": 0,
        "status": "ok",
        "config_hash": "abc",
        "metrics": {"target_test_acc": 0.5},
    }


def test_round_trip(tmp_path):
    rec = _rec("dann__mnist2digits__s0__abc")
    path = write_record(tmp_path, rec)
    assert path == tmp_path / "runs" / "dann__mnist2digits__s0__abc.json"
    assert read_record(path) == rec
    assert load_records(tmp_path) == [rec]
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [path.name], "no temp files left"


def test_corrupt_and_foreign_files_are_skipped(tmp_path, caplog):
    write_record(tmp_path, _rec("ok_one"))
    (tmp_path / "runs" / "broken.json").write_text("{not json")
    (tmp_path / "runs" / "other.json").write_text(json.dumps({"hello": 1}))
    recs = load_records(tmp_path)
    assert [r["run_id"] for r in recs] == ["ok_one"]
    assert "broken.json" in caplog.text and "other.json" in caplog.text


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
