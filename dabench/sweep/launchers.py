"""Launchers: how the runs of a sweep are executed.

Every launcher takes the same configs and calls :func:`dabench.api.run` once
per run, so the records are the same whichever one ran them; only where and
how many at a time differ:

* ``local``: one run after the other in this process.
* ``pool``: ``jobs`` worker processes on this machine (``spawn`` context), each
  with ``cores // jobs`` torch threads.
* ``ray``: one Ray task per run (see :mod:`dabench.sweep.ray_launcher`).

A launcher reports to a :class:`Listener` (a run started, made progress,
finished) and returns one :class:`Outcome` per config. A run that raises is a
``failed`` outcome, never an exception out of the launcher: one broken run
does not stop the others.

This module imports no torch at import time: a pool worker sets its thread
count before torch is loaded.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dabench.errors import UserError
from dabench.registry import Registry

if TYPE_CHECKING:
    from dabench.config import RunConfig
    from dabench.records import RunRecord

# What happened to one run of a sweep.
OUTCOMES = ("recorded", "reused", "collapsed", "diverged", "failed")

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Outcome:
    """One run's result as a launcher saw it. ``outcome`` is one of
    :data:`OUTCOMES`: ``recorded`` (ran, status ok), ``reused`` (an earlier
    record of the same run key), or the status of a run that ended
    ``collapsed``, ``diverged`` or ``failed``. ``record`` is None only when the
    run failed before a record could be read back."""

    run_id: str
    outcome: str
    record: RunRecord | None = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def reused(self) -> bool:
        return self.outcome == "reused"


class Listener:
    """Told what a launcher does; every hook is optional. Hooks are called in
    the launching process, one at a time."""

    def stage(self, name: str, configs: list[RunConfig]) -> None:
        """A stage of ``configs`` is about to start."""

    def started(self, cfg: RunConfig, run_id: str) -> None:
        """A run was handed to a worker (it is running from now on)."""

    def step(self, run_id: str, step: int, total: int) -> None:
        """Training progress of a running run (local launcher only)."""

    def finished(self, cfg: RunConfig, result: Outcome) -> None:
        """A run finished, was reused, or failed."""


def label(cfg: RunConfig) -> str:
    return f"{cfg.method} {cfg.pair} h{cfg.hparams_seed} s{cfg.seed}"


def execute(
    cfg: RunConfig,
    results: Path,
    force: bool,
    progress: Callable[[int, int, dict[str, float]], None] | None = None,
    defer: bool = False,
) -> Outcome | None:
    """Run one config through :func:`dabench.api.run` and classify what came
    back; an exception becomes a ``failed`` outcome carrying its message (and
    the failed record, where the run wrote one). A key another process is
    running is waited for (then its record reused, or the run retried if it
    failed), or with ``defer`` left for later: None."""
    from dabench import api
    from dabench.records import read_record, record_path

    t0 = time.perf_counter()
    run_id = api.run_id_for(cfg)[0]
    from dabench.runlock import RunningElsewhere

    try:
        try:
            rec, reused = api.run(cfg, results, force=force, progress=progress)
        except RunningElsewhere:
            # Another process (another sweep on the same results) holds this
            # key: wait for it, then reuse its record (or run it if it failed).
            if defer:
                log.info("%s is running elsewhere; checking it again at the end", run_id)
                return None
            log.info("%s is running elsewhere; waiting for it", run_id)
            rec, reused = api.run(cfg, results, progress=progress, wait=True)
    except Exception as e:  # noqa: BLE001  (any crash of one run is that run's failure)
        path = record_path(Path(results), run_id)
        rec = read_record(path) if path.exists() else None
        if rec is not None and rec.status != "failed":
            rec = None
        return Outcome(run_id, "failed", rec, f"{type(e).__name__}: {e}", time.perf_counter() - t0)
    return Outcome(
        run_id,
        classify(rec.status, reused),
        rec,
        rec.error,
        0.0 if reused else time.perf_counter() - t0,
    )


def classify(status: str, reused: bool) -> str:
    if reused:
        return "reused"
    return "recorded" if status == "ok" else status


def split_recorded(
    configs: list[RunConfig], results: Path, force: bool, listener: Listener, out: list[Outcome]
) -> list[RunConfig]:
    """Report already-recorded runs as reused (no worker needed for them; their
    outcomes go to ``out``) and return the configs that still have to run."""
    from dabench import api

    todo = []
    for cfg in configs:
        rec = None if force else api.existing_record(cfg, results)
        if rec is None:
            todo.append(cfg)
        else:
            out.append(Outcome(rec.run_id, "reused", rec, rec.error))
            listener.finished(cfg, out[-1])
    return todo


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def set_threads(n: int) -> None:
    """Torch and OpenMP threads for this process; call before torch is
    imported so OpenMP reads the variable too."""
    os.environ["OMP_NUM_THREADS"] = str(n)
    os.environ["MKL_NUM_THREADS"] = str(n)
    import torch

    torch.set_num_threads(n)


LAUNCHERS: Registry[Callable[..., list[Outcome]]] = Registry("launcher")


@LAUNCHERS.register("local")
def launch_local(
    configs: list[RunConfig],
    results: Path,
    force: bool = False,
    listener: Listener | None = None,
    jobs: int | None = None,
    address: str | None = None,
) -> list[Outcome]:
    """One run after the other in this process."""
    from dabench import api

    if jobs not in (None, 1):
        raise UserError(
            "--jobs needs --launcher pool or ray; the local launcher runs one at a time"
        )
    listener = listener or Listener()
    out, later = [], []
    # Keys another process holds are left for a second pass, which waits.
    for defer, todo in ((True, configs), (False, later)):
        for cfg in todo:
            run_id = api.run_id_for(cfg)[0]
            if not force and (rec := api.existing_record(cfg, results)) is not None:
                result = Outcome(run_id, "reused", rec, rec.error)
            else:
                listener.started(cfg, run_id)
                step = lambda s, n, _parts, r=run_id: listener.step(r, s, n)  # noqa: E731
                result = execute(cfg, results, force, step, defer=defer)
                if result is None:
                    later.append(cfg)
                    continue
            listener.finished(cfg, result)
            out.append(result)
    return out


# ------------------------------------------------------------------- pool


def _die_with_parent(parent: int) -> None:
    """A worker must not outlive a killed sweep (SIGKILL runs no clean-up):
    ask Linux to kill it when its parent dies."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _pool_worker(conn: Any, parent: int, threads: int, results: Path, force: bool) -> None:
    import warnings

    _die_with_parent(parent)
    # As in dabench.cli: torchmetrics warns on every import.
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
    # Ctrl-C reaches the whole process group; the parent decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    set_threads(threads)
    while True:
        try:
            cfg = conn.recv()
        except EOFError:
            return
        if cfg is None:
            return
        conn.send(execute(cfg, results, force))


@dataclasses.dataclass
class _Slot:
    process: Any
    conn: Any
    job: tuple[RunConfig, str, float] | None = None


@LAUNCHERS.register("pool")
def launch_pool(
    configs: list[RunConfig],
    results: Path,
    force: bool = False,
    listener: Listener | None = None,
    jobs: int | None = None,
    address: str | None = None,
) -> list[Outcome]:
    """``jobs`` worker processes (default: one per core), fed one run at a
    time. A worker that dies takes only its current run with it (``failed``)
    and is replaced."""
    import multiprocessing as mp
    from multiprocessing.connection import wait

    from dabench import api

    listener = listener or Listener()
    jobs = jobs or cpu_count()
    if jobs < 1:
        raise UserError("--jobs must be at least 1")
    threads = max(1, cpu_count() // jobs)
    ctx = mp.get_context("spawn")
    out: list[Outcome] = []
    todo = deque(split_recorded(configs, results, force, listener, out))
    slots: list[_Slot] = []

    def start() -> _Slot:
        mine, theirs = ctx.Pipe()
        p = ctx.Process(
            target=_pool_worker,
            args=(theirs, os.getpid(), threads, Path(results), force),
            daemon=True,
        )
        p.start()
        theirs.close()
        return _Slot(p, mine)

    def feed(slot: _Slot) -> None:
        if todo:
            cfg = todo.popleft()
            run_id = api.run_id_for(cfg)[0]
            slot.conn.send(cfg)
            slot.job = (cfg, run_id, time.perf_counter())
            listener.started(cfg, run_id)

    def finish(slot: _Slot, result: Outcome) -> None:
        assert slot.job is not None
        cfg = slot.job[0]
        slot.job = None
        out.append(result)
        listener.finished(cfg, result)

    ok = False
    try:
        for _ in range(min(jobs, len(todo))):
            slots.append(start())
            feed(slots[-1])
        while busy := [s for s in slots if s.job is not None]:
            wait([s.conn for s in busy] + [s.process.sentinel for s in busy])
            for i, s in enumerate(slots):
                if s.job is None:
                    continue
                if s.conn.poll():
                    try:
                        finish(s, s.conn.recv())
                        feed(s)
                        continue
                    except EOFError:
                        pass
                if not s.process.is_alive():
                    _, run_id, t0 = s.job
                    finish(
                        s,
                        Outcome(
                            run_id,
                            "failed",
                            error=f"worker process died (exit code {s.process.exitcode})",
                            seconds=time.perf_counter() - t0,
                        ),
                    )
                    s.conn.close()
                    if todo:
                        slots[i] = start()
                        feed(slots[i])
        ok = True
    finally:
        for s in slots:
            try:
                if not ok:
                    raise BrokenPipeError
                s.conn.send(None)
            except (BrokenPipeError, OSError):
                # Interrupted: runs in progress are abandoned, not waited for.
                s.process.terminate()
        for s in slots:
            s.process.join(timeout=30)
    return out


# Ray registers itself lazily: importing ray costs seconds.
@LAUNCHERS.register("ray")
def launch_ray(
    configs: list[RunConfig],
    results: Path,
    force: bool = False,
    listener: Listener | None = None,
    jobs: int | None = None,
    address: str | None = None,
) -> list[Outcome]:
    """One Ray task per run, on a local Ray or the cluster at ``address``."""
    from dabench.sweep.ray_launcher import launch

    return launch(configs, results, force, listener or Listener(), jobs, address)


def get_launcher(name: str, jobs: int | None, address: str | None) -> Callable[..., Any]:
    """The launcher ``name``, after checking the options it is given."""
    launch = LAUNCHERS.get(name)
    if address is not None and name != "ray":
        raise UserError("--ray-address needs --launcher ray")
    if jobs is not None and jobs < 1:
        raise UserError("--jobs must be at least 1")
    if name == "local" and jobs not in (None, 1):
        raise UserError(
            "--jobs needs --launcher pool or ray; the local launcher runs one at a time"
        )
    return launch
