"""Sweep launchers: local, pool and Ray record the same runs; a killed pool
sweep resumes without running anything twice; failures are counted, not fatal;
``--status`` reads the records."""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from dabench.cli import main

ROOT = Path(__file__).resolve().parents[1]
TINY = "set:\n  train: {steps: 5, eval_every: 5, batch_size: 8}\n"


def write_suite(tmp_path: Path, body: str) -> Path:
    suite = tmp_path / "suite.yaml"
    suite.write_text(f"name: tiny\npairs: [digits2mnist]\n{body}{TINY}")
    return suite


def run_ids(results: Path) -> list[str]:
    return sorted(p.stem for p in (results / "runs").glob("*.json"))


def expected_ids(suite: Path) -> list[str]:
    from dabench.api import run_id_for
    from dabench.sweep import load_suite, suite_configs

    return sorted(run_id_for(c)[0] for c in suite_configs(load_suite(suite)))


def leaderboard(results: Path) -> pd.DataFrame:
    r = CliRunner().invoke(main, ["report", "--results", str(results)])
    assert r.exit_code == 0, r.output
    lb = pd.read_csv(results / "leaderboard_acc.csv")
    # Timings, throughput and memory differ between processes; nothing else may.
    return lb.drop(columns=["train_s", "img_per_s", "peak_mem_mb"])


@pytest.mark.slow
def test_local_pool_and_ray_record_the_same_runs(tmp_path, monkeypatch):
    pytest.importorskip("ray")
    # One torch thread everywhere, as pool --jobs 2 and Ray give each run on two cores.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    monkeypatch.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    suite = write_suite(tmp_path, "methods: [source_only, coral]\nseeds: [0]\n")
    want = expected_ids(suite)
    assert len(want) == 2
    out = {}
    try:
        for name, extra in (
            ("local", []),
            ("pool", ["--jobs", "2"]),
            ("ray", ["--jobs", "2"]),
        ):
            results = tmp_path / name
            args = ["sweep", str(suite), "--results", str(results), "--launcher", name, *extra]
            r = CliRunner().invoke(main, args)
            assert r.exit_code == 0, (name, r.output)
            assert "runs: 2 recorded" in r.output, (name, r.output)
            assert run_ids(results) == want, name
            out[name] = results
    finally:
        torch.set_num_threads(threads)

    def records(results):
        return {
            p.stem: json.loads(p.read_text()) for p in sorted((results / "runs").glob("*.json"))
        }

    base = records(out["local"])
    for name in ("pool", "ray"):
        other = records(out[name])
        for run_id, rec in base.items():
            assert other[run_id]["by_selection"] == rec["by_selection"], (name, run_id)
            assert other[run_id]["final_losses"] == rec["final_losses"], (name, run_id)
        pd.testing.assert_frame_equal(leaderboard(out[name]), leaderboard(out["local"]))
    # The same suite again is all reused, whichever launcher asks.
    r = CliRunner().invoke(
        main, ["sweep", str(suite), "--results", str(out["ray"]), "--launcher", "pool"]
    )
    assert r.exit_code == 0 and "runs: 2 reused" in r.output, r.output


def _children(pid: int) -> list[int]:
    kids = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(x) for x in kids.read_text().split()] if kids.exists() else []


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state == "Z"


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_killed_pool_sweep_resumes_and_records_each_run_once(tmp_path):
    suite = write_suite(tmp_path, "methods: [source_only, coral]\nseeds: [0, 1]\n")
    want = expected_ids(suite)
    results = tmp_path / "res"
    cmd = [sys.executable, "-m", "dabench", "sweep", str(suite), "--results", str(results)]
    cmd += ["--launcher", "pool", "--jobs", "2"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        cmd, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 600
        while not (results / "runs").is_dir() or not run_ids(results):
            assert proc.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline, "no run was recorded in time"
            time.sleep(0.2)
        workers = _children(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert workers, "the pool had worker processes"
    deadline = time.monotonic() + 30
    while not all(_gone(w) for w in workers):
        assert time.monotonic() < deadline, "workers outlived the killed sweep"
        time.sleep(0.2)
    before = {p.name: p.read_bytes() for p in (results / "runs").glob("*.json")}
    assert 0 < len(before) < len(want), "killed mid-way"

    r = CliRunner().invoke(main, ["sweep", str(suite), "--results", str(results), "--status"])
    assert r.exit_code == 0, r.output
    assert f"{len(before)} done, 0 failed, {len(want) - len(before)} pending" in r.output

    done = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(before)} reused" in done.stdout and "recorded earlier" in done.stdout
    assert run_ids(results) == want, "every run recorded, each once"
    for name, data in before.items():
        assert (results / "runs" / name).read_bytes() == data, f"{name} was run twice"

    # A failed record is counted as failed by --status.
    path = results / "runs" / f"{want[0]}.json"
    rec = json.loads(path.read_text())
    path.write_text(json.dumps({**rec, "status": "failed", "error": "RuntimeError: boom"}))
    r = CliRunner().invoke(main, ["sweep", str(suite), "--results", str(results), "--status"])
    assert r.exit_code == 0 and f"{len(want) - 1} done, 1 failed, 0 pending" in r.output


def test_a_failing_run_is_counted_and_the_others_still_run(tmp_path):
    # device 'meta' is rejected when the run starts, not when the suite is read.
    suite = write_suite(
        tmp_path, "methods: [coral, source_only]\nseeds: [0]\nset_for: {coral: {device: meta}}\n"
    )
    results = tmp_path / "res"
    tb = tmp_path / "tb"
    pytest.importorskip("tensorboard")
    args = ["sweep", str(suite), "--results", str(results), "--track", "tensorboard"]
    r = CliRunner().invoke(main, [*args, "--track-uri", str(tb)])
    assert r.exit_code == 1, r.output
    assert "runs: 1 recorded, 1 failed" in r.output and "unsupported device 'meta'" in r.output
    (recorded,) = run_ids(results)
    assert recorded.startswith("source_only__")
    assert [p.name for p in tb.iterdir()] == [recorded], "the recorded run was tracked"


def test_launcher_options_are_checked(tmp_path, monkeypatch):
    suite = write_suite(tmp_path, "methods: [source_only]\nseeds: [0]\n")
    res = str(tmp_path / "res")
    monkeypatch.setitem(sys.modules, "ray", None)  # import fails as if not installed
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    monkeypatch.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    for extra, msg in (
        (["--launcher", "ray"], "the ray launcher needs Ray: pip install 'dabench[ray]'"),
        (["--launcher", "local", "--jobs", "2"], "--jobs needs --launcher pool or ray"),
        (["--launcher", "pool", "--ray-address", "auto"], "--ray-address needs --launcher ray"),
        (["--launcher", "pool", "--jobs", "0"], "--jobs must be at least 1"),
    ):
        r = CliRunner().invoke(main, ["sweep", str(suite), "--results", res, *extra])
        assert r.exit_code == 2 and msg in r.output, (extra, r.output)
    assert not (tmp_path / "res" / "runs").exists()


def test_api_does_not_import_sweep():
    tree = ast.parse((ROOT / "dabench" / "api.py").read_text())
    imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in imported if m and m.startswith("dabench.sweep")]
    code = "import sys, dabench.api; print(any(m.startswith('dabench.sweep') for m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"


def test_the_sweep_view_counts_runs_and_estimates_the_time_left(tmp_path):
    from rich.console import Console

    from dabench.cli_sweep import SweepView
    from dabench.records import RunRecord
    from dabench.sweep import load_suite, suite_configs
    from dabench.sweep.launchers import Outcome

    cfgs = suite_configs(
        load_suite(write_suite(tmp_path, "methods: [source_only, coral]\nseeds: [0, 1]\n"))
    )
    view = SweepView(live=False)
    view.stage("suite", cfgs)
    for i in range(3):
        view.started(cfgs[i], f"r{i}")
    view.step("r2", 3, 5)
    rec = RunRecord("r0", cfgs[0].method, cfgs[0].pair, 0, "ok", "h")
    view.finished(cfgs[0], Outcome("r0", "recorded", rec, seconds=10.0))
    view.finished(cfgs[1], Outcome("r1", "failed", None, "RuntimeError: boom", seconds=30.0))
    console = Console(record=True, width=200)
    console.print(view.render())
    text = console.export_text()
    assert "done 1 · running 1 · failed 1 · pending 1" in text
    assert "coral digits2mnist h0 s0" in text and "step 3/5" in text
    # Mean of 20 s: one pending run plus the (just started) running one, one at a time.
    assert "ETA 0m40s" in text or "ETA 0m39s" in text, text
