"""The CLI through click's CliRunner, including every bad input of the spec."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from dabench.cli import main

FAST = ["--steps", "20", "--set", "train.eval_every=10", "--set", "train.batch_size=16"]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """One real (tiny) run recorded under a fresh results dir."""
    results = tmp_path_factory.mktemp("cli") / "results"
    results.mkdir()
    r = CliRunner().invoke(
        main,
        ["run", "--method", "coral", "--pair", "mnist2digits", "--results", str(results), *FAST],
    )
    assert r.exit_code == 0, r.output
    return results, r


def snapshot(results):
    return {p.name: p.read_bytes() for p in sorted((results / "runs").glob("*.json"))}


def test_run_prints_metrics_and_writes_a_full_record(recorded):
    results, r = recorded
    assert "target acc" in r.output and "macro-F1" in r.output
    (path,) = (results / "runs").glob("*.json")
    rec = json.loads(path.read_text())
    assert rec["method"] == "coral" and rec["pair"] == "mnist2digits" and rec["seed"] == 0
    assert rec["status"] == "ok" and rec["target_access"] == "unlabeled"
    assert {"target_test_acc", "target_test_f1", "source_val_acc", "score"} <= set(rec["metrics"])
    assert rec["metrics"] == rec["by_selection"]["source_val"], "headline has by_selection's shape"
    assert rec["selection"] == "source_val" and 1 <= rec["metrics"]["step"] <= 20
    assert rec["schema"] == 2 and rec["method_version"] >= 1 and rec["hparams_seed"] == 0
    prov = rec["provenance"]
    assert prov["git_sha"] and prov["cpu_model"] and prov["torch_threads"] >= 1
    assert rec["metrics"]["uses_target_labels"] is False
    assert rec["by_selection"]["oracle"]["uses_target_labels"] is True
    assert rec["config"]["train"]["steps"] == 20 and rec["config"]["hparams"]["layer"] == "logits"
    prov = rec["provenance"]
    for key in ("dabench_version", "git_sha", "git_dirty", "torch", "device", "python"):
        assert key in prov
    assert prov["device"] == "cpu"
    assert rec["timing"]["total_seconds"] > 0
    assert (results / "curves" / f"{rec['run_id']}.csv").exists()
    assert path.name == f"{rec['run_id']}.json" and rec["config_hash"] in rec["run_id"]


def test_rerun_reuses_record_unless_forced(recorded):
    results, _ = recorded
    before = snapshot(results)
    r = CliRunner().invoke(
        main, ["run", "-m", "coral", "-p", "mnist2digits", "--results", str(results), *FAST]
    )
    assert r.exit_code == 0 and "recorded earlier" in r.output
    assert snapshot(results) == before
    r = CliRunner().invoke(
        main,
        ["run", "-m", "coral", "-p", "mnist2digits", "--results", str(results), "--force", *FAST],
    )
    assert r.exit_code == 0 and "recorded earlier" not in r.output
    after = snapshot(results)
    assert list(after) == list(before)
    assert (
        json.loads(next(iter(after.values())))["created"]
        >= json.loads(next(iter(before.values())))["created"]
    )


BAD = [
    (["run", "-m", "corla", "-p", "mnist2digits"], "unknown method 'corla'; did you mean 'coral'"),
    (
        ["run", "-m", "coral", "-p", "mnist2digts"],
        "unknown pair 'mnist2digts'; did you mean 'mnist2digits'",
    ),
    (
        ["run", "-m", "coral", "-p", "mnist2digits", "--set", "train.lrr=0.1"],
        "unknown config key 'train.lrr'",
    ),
    (
        ["run", "-m", "coral", "-p", "mnist2digits", "--set", "train.lr=fast"],
        "train.lr must be float",
    ),
    (
        ["run", "-m", "coral", "-p", "mnist2digits", "--set", "train.lr=-0.01"],
        "train.lr must be > 0",
    ),
    (["run", "-m", "coral", "-p", "mnist2digits", "--steps", "0"], "train.steps must be >= 1"),
    (
        ["run", "-m", "coral", "-p", "mnist2digits", "--set", "hparams.layer=fc9"],
        "hparams.layer must be one of",
    ),
    (["run", "-m", "coral", "-p", "mnist2digits", "--device", "tpu"], "device"),
    (["bench", "no_such_suite"], "no benchmark suite 'no_such_suite'"),
    (["report", "--selection", "best"], "unknown selector 'best'"),
]


@pytest.mark.parametrize("args,message", BAD)
def test_bad_input_exits_2_with_one_line_and_keeps_records(recorded, args, message):
    results, _ = recorded
    before = snapshot(results)
    r = CliRunner().invoke(main, [*args, "--results", str(results)])
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert lines == [f"Error: {lines[0][7:]}"] and message in lines[0], r.output
    assert snapshot(results) == before


def test_missing_results_dir_is_exit_2(tmp_path):
    for args in (["report"], ["run", "-m", "coral", "-p", "mnist2digits"]):
        r = CliRunner().invoke(main, [*args, "--results", str(tmp_path / "no" / "such" / "dir")])
        assert r.exit_code == 2 and "does not exist" in r.output, r.output
    assert not (tmp_path / "no").exists()


def test_report_prints_and_writes_leaderboards(recorded, tmp_path):
    results, _ = recorded
    out = tmp_path / "lb.csv"
    r = CliRunner().invoke(
        main, ["report", "--results", str(results), "--format", "csv", "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    assert "coral" in r.output and "mnist2digits" in r.output
    assert out.read_text().startswith("method,")
    md = (results / "leaderboard_acc.md").read_text()
    assert "| coral" in md and "No source_only runs" in md
    r = CliRunner().invoke(
        main, ["report", "--results", str(results), "--metric", "f1", "--selection", "oracle"]
    )
    assert r.exit_code == 0 and (results / "leaderboard_f1_oracle.md").exists()


def test_list_commands():
    for what, expect in (
        ("methods", "unlabeled"),
        ("pairs", "digits2mnist"),
        ("backbones", "dann_digits"),
        ("selectors", "oracle"),
    ):
        r = CliRunner().invoke(main, ["list", what])
        assert r.exit_code == 0 and expect in r.output, r.output


def test_sweep_runs_a_suite_file_and_skips_recorded(tmp_path):
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "name: tiny\nmethods: [source_only, dann]\npairs: [digits2mnist]\nseeds: [0]\n"
        "set:\n  train:\n    steps: 10\n    eval_every: 5\n    batch_size: 16\n"
    )
    results = tmp_path / "res"
    r = CliRunner().invoke(main, ["sweep", str(suite), "--results", str(results)])
    assert r.exit_code == 0, r.output
    assert len(list((results / "runs").glob("*.json"))) == 2
    r = CliRunner().invoke(main, ["sweep", str(suite), "--results", str(results)])
    assert r.exit_code == 0 and r.output.count("recorded earlier") == 2


def test_suite_with_unknown_key_or_bad_method_fails_before_running(tmp_path):
    suite = tmp_path / "s.yaml"
    results = tmp_path / "res"
    results.mkdir()
    suite.write_text("methods: [source_only, dnan]\npairs: [digits2mnist]\nseeds: [0]\n")
    r = CliRunner().invoke(main, ["sweep", str(suite), "--results", str(results)])
    assert r.exit_code == 2 and "did you mean 'dann'" in r.output
    suite.write_text("methods: [dann]\npairs: [digits2mnist]\nseeds: [0]\nsteps: 3\n")
    r = CliRunner().invoke(main, ["sweep", str(suite), "--results", str(results)])
    assert r.exit_code == 2 and "unknown key 'steps'" in r.output
    assert not (results / "runs").exists(), "nothing ran"


def test_report_suite_keeps_only_that_suites_runs(tmp_path):
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "name: tiny\nmethods: [source_only]\npairs: [digits2mnist]\nseeds: [0]\n"
        "set:\n  train:\n    steps: 6\n    eval_every: 3\n    batch_size: 8\n"
    )
    results = tmp_path / "res"
    assert CliRunner().invoke(main, ["sweep", str(suite), "--results", str(results)]).exit_code == 0
    other = ["run", "-m", "coral", "-p", "mnist2digits", "--results", str(results), *FAST]
    assert CliRunner().invoke(main, other).exit_code == 0
    # The suite's method, pair and seed under another budget: not the suite's run either.
    same = ["run", "-m", "source_only", "-p", "digits2mnist", "--results", str(results)]
    same += ["--steps", "4", "--set", "train.eval_every=2", "--set", "train.batch_size=8"]
    assert CliRunner().invoke(main, same).exit_code == 0
    r = CliRunner().invoke(main, ["report", "--results", str(results), "--suite", str(suite)])
    assert r.exit_code == 0, r.output
    md = (results / "leaderboard_tiny_acc.md").read_text()
    assert "source_only" in md and "coral" not in md and "mnist2digits" not in md
    for args, rows in (([], 3), (["--suite", str(suite)], 1)):
        r = CliRunner().invoke(main, ["report", "--results", str(results), "--json", *args])
        assert r.exit_code == 0, r.output
        # Two budgets of one method are two variant rows; the suite's report has its own only.
        table = json.loads(r.output)["table"]
        assert len(table) == rows, table
    r = CliRunner().invoke(main, ["report", "--results", str(results), "--suite", "nope"])
    assert r.exit_code == 2 and "no benchmark suite 'nope'" in r.output
