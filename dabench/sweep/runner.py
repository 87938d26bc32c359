"""Running a suite: its stages through a launcher, its status from the records,
its report. The import graph is ``api <- sweep``: this module calls
:mod:`dabench.api`, never the other way round."""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from dabench.config import RunConfig
from dabench.sweep import Suite, final_configs, find_suite, load_suite, suite_configs
from dabench.sweep.launchers import OUTCOMES, Listener, Outcome, get_launcher

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Launch:
    """How to run: which launcher, how many at a time, where to track."""

    launcher: str = "local"
    jobs: int | None = None
    address: str | None = None
    track: str | None = None
    track_uri: str | None = None


class _Tracked(Listener):
    """Passes every hook on, and exports each newly written record to the
    tracking backend; a tracking error is logged, never fatal (the record is
    the source of truth and can be exported again with ``dabench track``)."""

    def __init__(self, inner: Listener, results: Path, how: Launch, experiment: str) -> None:
        self.inner, self.results, self.how, self.experiment = inner, results, how, experiment

    def stage(self, name: str, configs: list[RunConfig]) -> None:
        self.inner.stage(name, configs)

    def started(self, cfg: RunConfig, run_id: str) -> None:
        self.inner.started(cfg, run_id)

    def step(self, run_id: str, step: int, total: int) -> None:
        self.inner.step(run_id, step, total)

    def finished(self, cfg: RunConfig, result: Outcome) -> None:
        if self.how.track and result.record is not None and not result.reused:
            from dabench import tracking

            try:
                tracking.export(
                    [result.record],
                    self.results,
                    self.how.track,
                    self.how.track_uri,
                    self.experiment,
                )
            except Exception as e:  # noqa: BLE001
                log.warning("could not track %s to %s: %s", result.run_id, self.how.track, e)
        self.inner.finished(cfg, result)


def counts(outcomes: list[Outcome]) -> dict[str, int]:
    """Outcomes by kind, in :data:`OUTCOMES` order, zeros left out."""
    c = Counter(o.outcome for o in outcomes)
    return {k: c[k] for k in OUTCOMES if c[k]}


def run_configs(
    configs: list[RunConfig],
    results: Path,
    how: Launch | None = None,
    force: bool = False,
    listener: Listener | None = None,
    experiment: str = "dabench",
) -> list[Outcome]:
    """Run ``configs`` with the launcher ``how`` names; returns their outcomes."""
    from dabench import api
    from dabench.tracking import check_backend

    how = how or Launch()
    launch = get_launcher(how.launcher, how.jobs, how.address)
    if how.track:
        check_backend(how.track)
    results = api.ensure_results_dir(results, create=True)
    listener = _Tracked(listener or Listener(), results, how, experiment)
    return launch(configs, results, force, listener, how.jobs, how.address)


def run_suite(
    suite: Suite,
    results: Path,
    how: Launch | None = None,
    force: bool = False,
    overrides: dict[str, Any] | None = None,
    listener: Listener | None = None,
) -> list[Outcome]:
    """Both stages of a suite: every trial, then (with ``final``) each cell's
    selected trial with the final seeds."""
    listener = listener or Listener()
    configs = suite_configs(suite, overrides)
    listener.stage("search" if suite.final_seeds else "suite", configs)
    out = run_configs(configs, results, how, force, listener, suite.name)
    if suite.final_seeds:
        final = final_configs(suite, results, overrides)
        listener.stage("final", final)
        # Final runs that repeat a search run (same seed) are reused, never rerun.
        out += run_configs(final, results, how, False, listener, suite.name)
    return out


def run_in_order(
    configs: list[RunConfig],
    results: Path,
    force: bool = False,
    progress_factory: Callable[[RunConfig], Any] | None = None,
    on_elsewhere: Callable[[RunConfig], None] | None = None,
) -> Iterator[tuple[RunConfig, Any, bool]]:
    """Run configs one after the other in this process: :func:`dabench.api.sweep`."""
    from dabench import api

    yield from api.sweep(configs, results, force, progress_factory, on_elsewhere)


# ------------------------------------------------------------------ status


@dataclasses.dataclass
class Planned:
    stage: str
    cfg: RunConfig
    run_id: str
    state: str  # done, failed or pending


def plan(suite: Suite, results: Path, overrides: dict[str, Any] | None = None) -> list[Planned]:
    """Every run of the suite and its state in ``results``, from the records
    alone: ``done`` (a result: ok, collapsed or diverged), ``failed``, or
    ``pending``. The final stage is listed as far as the search's records
    already select its trials."""
    from dabench import api
    from dabench.records import read_record, record_path

    results = Path(results)
    have = results.is_dir()

    def state(run_id: str) -> str:
        path = record_path(results, run_id)
        rec = read_record(path) if have and path.exists() else None
        if rec is None:
            return "pending"
        return "done" if rec.status in api.FINAL_STATUSES else "failed"

    stages = [("search" if suite.final_seeds else "run", suite_configs(suite, overrides))]
    if suite.final_seeds and have:
        stages.append(("final", final_configs(suite, results, overrides)))
    out = []
    for stage, cfgs in stages:
        for c in cfgs:
            run_id = api.run_id_for(c)[0]
            out.append(Planned(stage, c, run_id, state(run_id)))
    return out


def status_table(planned: list[Planned]) -> list[dict[str, Any]]:
    """Counts of done, failed and pending runs per (method, pair), each run
    key once (a final run that repeats a search run is the same run)."""
    rows: dict[tuple[str, str], Counter] = {}
    seen: set[str] = set()
    for p in planned:
        if p.run_id in seen:
            continue
        seen.add(p.run_id)
        rows.setdefault((p.cfg.method, p.cfg.pair), Counter())[p.state] += 1
    return [
        {"method": m, "pair": pr, **{k: c[k] for k in ("done", "failed", "pending")}}
        for (m, pr), c in rows.items()
    ]


def report_suite(suite_ref: str, results: Path, **kw: Any):
    """:func:`dabench.api.report` of only the runs that suite asks for (its
    run keys: methods, pairs, trials, seeds and budget), whatever else the
    directory holds; the leaderboard files are named after the suite."""
    from dabench import api
    from dabench.sweep import suite_run_ids

    spec = load_suite(find_suite(suite_ref))

    def only(records: list) -> list:
        ids = suite_run_ids(spec, Path(results), records=records)
        return [r for r in records if r.run_id in ids]

    return api.report(results, only=only, name=spec.name, **kw)
