"""The Ray launcher: one Ray task per run.

With ``address`` it joins a running cluster (``ray start --head`` on one
machine, ``ray start --address=...`` on the others); every node must have
dabench and the data installed, and the results directory must be a path all
nodes share (records are written by the task, where it runs). Without it, Ray
is started here on the loopback interface with ``jobs`` CPUs, no dashboard and
quiet logging, and shut down at the end.

Each run asks for one GPU where the cluster has GPUs, and otherwise for
``cluster CPUs // jobs`` CPUs, which it uses as its torch thread count. At
most ``jobs`` tasks are in flight, so the ones in flight are the ones running.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dabench.errors import UserError
from dabench.sweep.launchers import (
    Listener,
    Outcome,
    cpu_count,
    execute,
    set_threads,
    split_recorded,
)

if TYPE_CHECKING:
    from dabench.config import RunConfig

log = logging.getLogger(__name__)


def _import_ray(local: bool) -> Any:
    # Never phone home; a local Ray listens on loopback only (must be set before
    # ray is imported, which reads both at import).
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if local:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:
        raise UserError("the ray launcher needs Ray: pip install 'dabench[ray]'") from None
    return ray


def _task(cfg: RunConfig, results: str, force: bool) -> Outcome:
    import warnings

    import ray

    # As in dabench.cli: torchmetrics warns on every import.
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
    cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1)
    set_threads(max(1, int(cpus)))
    return execute(cfg, Path(results), force)


def launch(
    configs: list[RunConfig],
    results: Path,
    force: bool,
    listener: Listener,
    jobs: int | None,
    address: str | None,
) -> list[Outcome]:
    from dabench import api

    out: list[Outcome] = []
    todo = deque(split_recorded(configs, results, force, listener, out))
    if not todo:
        return out
    ray = _import_ray(local=address is None)
    started_here = not ray.is_initialized()
    if started_here:
        quiet = {"logging_level": logging.ERROR, "log_to_driver": False}
        if address is not None:
            try:
                ray.init(address=address, **quiet)
            except ConnectionError as e:
                raise UserError(f"cannot join the Ray cluster at {address}: {e}") from None
        else:
            ray.init(
                num_cpus=jobs or cpu_count(),
                include_dashboard=False,
                # Records are all that travel back: a small object store will do.
                object_store_memory=128 * 2**20,
                **quiet,
            )
    try:
        res = ray.cluster_resources()
        gpus, cpus = int(res.get("GPU", 0)), max(1, int(res.get("CPU", 1)))
        if gpus:
            slots = jobs or gpus
            ask = {"num_gpus": 1}
        else:
            slots = jobs or cpus
            ask = {"num_cpus": max(1, cpus // slots)}
        log.info("ray: %d runs, %d at a time, each asking for %s", len(todo), slots, ask)
        remote = ray.remote(_task).options(**ask)
        flying: dict[Any, tuple[RunConfig, str, float]] = {}
        while todo or flying:
            while todo and len(flying) < slots:
                cfg = todo.popleft()
                run_id = api.run_id_for(cfg)[0]
                flying[remote.remote(cfg, str(Path(results).resolve()), force)] = (
                    cfg,
                    run_id,
                    time.perf_counter(),
                )
                listener.started(cfg, run_id)
            done, _ = ray.wait(list(flying), num_returns=1)
            for ref in done:
                cfg, run_id, t0 = flying.pop(ref)
                try:
                    result = ray.get(ref)
                except Exception as e:  # noqa: BLE001  (a lost worker or node fails one run)
                    result = Outcome(
                        run_id,
                        "failed",
                        error=f"{type(e).__name__}: {e}".splitlines()[0],
                        seconds=time.perf_counter() - t0,
                    )
                out.append(result)
                listener.finished(cfg, result)
    finally:
        if started_here:
            ray.shutdown()
    return out
