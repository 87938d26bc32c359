"""Faults during runs: crashes become failed records and a suite goes on;
Ctrl-C and SIGTERM stop cleanly and a rerun resumes; records survive SIGKILL;
two processes sharing a results directory run every key exactly once."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from dabench import api
from dabench.cli import main
from dabench.config import build_config
from dabench.errors import UserError
from dabench.records import RunRecord, load_records
from dabench.runlock import RunningElsewhere, run_lock
from dabench.sweep.runner import run_in_order

ROOT = Path(__file__).resolve().parents[1]
FAST = {"train.steps": 5, "train.eval_every": 5, "train.batch_size": 16}
SUITE = (
    "name: tiny\nmethods: [source_only, coral, dann]\npairs: [digits2mnist]\nseeds: [0, 1]\n"
    "set:\n  train: {steps: 5, eval_every: 5, batch_size: 16}\n"
)


@pytest.fixture(autouse=True)
def random_data(monkeypatch):
    """Every run here trains the real trainer on random tensors: fast."""
    from fault_fixtures import random_splits

    import dabench.data

    monkeypatch.setattr(dabench.data, "make_splits", random_splits)


def cfg(method: str, seed: int = 0):
    return build_config(method, "digits2mnist", seed, overrides=dict(FAST))


def records_by_method(results: Path) -> dict[str, RunRecord]:
    return {r.method: r for r in load_records(results)}


@pytest.fixture
def crash_dann(monkeypatch):
    """Training dann raises ``exc``; every other method trains for real."""
    import dabench.train

    real = dabench.train.train
    box = {"exc": RuntimeError("boom in the loss")}

    def train(method, splits, c, device, progress=None):
        if c.method == "dann" and box["exc"] is not None:
            raise box["exc"]
        return real(method, splits, c, device, progress=progress)

    monkeypatch.setattr(dabench.train, "train", train)
    return box


def test_a_crash_is_a_failed_record_and_the_sweep_goes_on(results_dir, crash_dann):
    out = list(run_in_order([cfg("dann"), cfg("source_only")], results_dir))
    assert [(c.method, r.status, reused) for c, r, reused in out] == [
        ("dann", "failed", False),
        ("source_only", "ok", False),
    ]
    rec = records_by_method(results_dir)["dann"]
    assert rec.status == "failed" and rec.error == "RuntimeError: boom in the loss"
    assert "boom in the loss" in rec.traceback and "Traceback" in rec.traceback
    assert rec.splits and rec.provenance  # the record says where it ran
    # A failed record is not a result: the rerun retries it, and reuses the ok one.
    crash_dann["exc"] = None
    again = {
        c.method: (r.status, reused)
        for c, r, reused in run_in_order([cfg("dann"), cfg("source_only")], results_dir)
    }
    assert again == {"dann": ("ok", False), "source_only": ("ok", True)}


@pytest.mark.parametrize(
    "exc",
    [torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"), MemoryError()],
)
def test_out_of_memory_is_recorded_as_failed_with_the_reason(results_dir, crash_dann, exc):
    crash_dann["exc"] = exc
    rec, reused = api.run(cfg("dann"), results_dir)
    assert rec.status == "failed" and not reused
    assert rec.error.startswith("out of memory (") and type(exc).__name__ in rec.error
    assert api.existing_record(cfg("dann"), results_dir) is None  # retried next time


def test_user_error_writes_no_record_and_releases_the_lock(results_dir, crash_dann):
    crash_dann["exc"] = UserError("bad input")
    with pytest.raises(UserError):
        api.run(cfg("dann"), results_dir)
    assert load_records(results_dir) == []
    with run_lock(results_dir, api.run_id_for(cfg("dann"))[0]):
        pass  # free again


def test_suite_exits_1_with_counts_and_one_error_line_per_failed_run(tmp_path, crash_dann):
    suite = tmp_path / "s.yaml"
    suite.write_text(SUITE.replace("seeds: [0, 1]", "seeds: [0]"))
    results = tmp_path / "res"
    r = CliRunner().invoke(main, ["-q", "sweep", str(suite), "--results", str(results)])
    assert r.exit_code == 1, r.output
    assert "runs: 2 recorded, 1 failed" in r.stdout
    err = r.stderr.strip().splitlines()
    assert len(err) == 2 and "RuntimeError: boom in the loss" in err[0]
    assert err[1].startswith("Error: 1 run(s) failed") and "Traceback" not in r.output
    assert len(load_records(results)) == 3


def test_ctrl_c_exits_130_with_no_record_and_the_lock_free(results_dir, crash_dann):
    crash_dann["exc"] = KeyboardInterrupt()
    args = ["run", "-m", "dann", "-p", "digits2mnist", "--results", str(results_dir)]
    args += [f"--set={k}={v}" for k, v in FAST.items()]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 130, r.output
    assert r.stderr.strip().splitlines() == [
        "interrupted (Ctrl-C): the run in progress was not recorded; rerun the same command to resume"
    ]
    assert list(results_dir.iterdir()) == []  # no record, no lock file
    with run_lock(results_dir, api.run_id_for(cfg("dann"))[0]):
        pass


def test_a_locked_key_is_running_elsewhere_and_rechecked_at_the_end(results_dir):
    a, b = cfg("coral"), cfg("source_only")
    key = api.run_id_for(a)[0]
    held, release = threading.Event(), threading.Event()

    def other_process():
        with run_lock(results_dir, key):
            held.set()
            release.wait(30)

    t = threading.Thread(target=other_process)
    t.start()
    held.wait(30)
    with pytest.raises(RunningElsewhere):
        api.run(a, results_dir)
    told = []

    def on_elsewhere(c):
        told.append(c.method)
        release.set()  # the other holder finishes without a record

    out = [
        (c.method, r.status, reused)
        for c, r, reused in run_in_order([a, b], results_dir, on_elsewhere=on_elsewhere)
    ]
    t.join()
    assert told == ["coral"]
    # b first, then a once its lock was free: run here since nobody recorded it.
    assert out == [("source_only", "ok", False), ("coral", "ok", False)]


# ------------------------------------------------------------ real processes


PRELUDE = """
import sys
sys.path.insert(0, "tests")
from fault_fixtures import use_random_data
use_random_data()
"""


def _python(script: str, *args: str, **kw) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    return subprocess.Popen(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(script), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        **kw,
    )


def _wait_for_line(proc: subprocess.Popen, marker: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if marker in line:
            return
        if not line and proc.poll() is not None:
            raise AssertionError(f"process ended before {marker!r}: {proc.stderr.read()}")
    raise AssertionError(f"no {marker!r} within {timeout}s")


def _record(i: int) -> RunRecord:
    return RunRecord(
        run_id=f"m__p__s{i}__h",
        method="m",
        pair="p",
        seed=i,
        status="ok",
        config_hash="h",
        config={"seed": i},
        extra={"blob": "x" * 200_000},
    )


def test_sigkill_mid_write_leaves_no_partial_record(results_dir, caplog):
    # The child writes one record, then is killed inside the second write
    # (after its bytes are in the temporary file, before the rename).
    proc = _python(
        """
        import os, sys, time
        from pathlib import Path
        from dabench.records import RunRecord, write_record
        def _record(i):
            return RunRecord(
                run_id=f"m__p__s{i}__h", method="m", pair="p", seed=i, status="ok",
                config_hash="h", config={"seed": i}, extra={"blob": "x" * 200_000},
            )
        results = Path(sys.argv[1])
        write_record(results, _record(0))
        def slow_fsync(fd):
            print("in-write", flush=True)
            time.sleep(60)
        os.fsync = slow_fsync
        write_record(results, _record(1))
        """,
        str(results_dir),
    )
    _wait_for_line(proc, "in-write")
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    runs = results_dir / "runs"
    assert [p.name for p in runs.glob("*.json")] == ["m__p__s0__h.json"]
    assert len(list(runs.glob(".*.tmp"))) == 1  # the orphan is hidden, never read
    # A truncated record (as a non-atomic writer would leave) is skipped with one warning.
    (runs / "m__p__s2__h.json").write_text(json.dumps(_record(2).to_dict())[:5000])
    with caplog.at_level(logging.WARNING, logger="dabench.records"):
        recs = load_records(results_dir)
    assert [r.run_id for r in recs] == ["m__p__s0__h"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "m__p__s2__h.json" in warnings[0].getMessage()


SWEEP = """
import sys
from dabench.cli import main
main(["sweep", *sys.argv[1:]], prog_name="dabench")
"""


def test_sigterm_stops_a_suite_cleanly_and_the_rerun_resumes(tmp_path):
    suite = tmp_path / "s.yaml"
    suite.write_text(SUITE.replace("seeds: [0, 1]", "seeds: [0]"))
    results = tmp_path / "res"
    # The second run of the suite hangs in training until SIGTERM arrives.
    proc = _python(
        """
import sys, time
import dabench.train
real = dabench.train.train
def train(method, splits, c, device, progress=None):
    if c.method == "coral":
        print("training-coral", flush=True)
        time.sleep(120)
    return real(method, splits, c, device, progress=progress)
dabench.train.train = train
"""
        + SWEEP,
        str(suite),
        "--results",
        str(results),
    )
    _wait_for_line(proc, "training-coral")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert (
        err.strip()
        .splitlines()[-1]
        .startswith("terminated (SIGTERM): the run in progress was not recorded")
    )
    assert "Traceback" not in err
    assert sorted(r.method for r in load_records(results)) == ["source_only"]
    assert not list((results / "runs").glob(".*.tmp"))
    r = CliRunner().invoke(main, ["sweep", str(suite), "--results", str(results)])
    assert r.exit_code == 0, r.output
    assert "runs: 2 recorded, 1 reused\n" in r.stdout


def test_two_processes_sweeping_one_results_dir_run_each_key_once(tmp_path):
    suite = tmp_path / "s.yaml"
    suite.write_text(SUITE)
    results = tmp_path / "res"
    results.mkdir()
    procs = [_python(SWEEP, str(suite), "--results", str(results)) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    recs = load_records(results)
    assert len(recs) == 6 and len({r.run_id for r in recs}) == 6
    assert len(list((results / "runs").glob("*.json"))) == 6
    done = reused = 0
    for out, _ in outs:
        line = next(x for x in out.splitlines() if x.startswith("runs: "))
        counts = dict(reversed(x.split(" ", 1)) for x in line[len("runs: ") :].split(", "))
        done, reused = done + int(counts.get("recorded", 0)), reused + int(counts.get("reused", 0))
        assert counts.get("failed", "0") == "0"
    # Every key trained exactly once across both processes; the other reused it.
    assert (done, reused) == (6, 6)
