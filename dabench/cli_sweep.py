"""CLI commands that run many runs: ``dabench bench``, ``dabench sweep`` and
``dabench track``, and the live sweep view.

Registered on the main group in :mod:`dabench.cli`; parse, call the library
(:mod:`dabench.sweep.runner`), print. On a terminal the sweep shows a live view
(done / running / failed / pending, the runs in progress, an ETA); in a pipe or
a CI log it prints one plain line per finished run.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.console import Group as RichGroup
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from dabench.errors import UserError
from dabench.sweep.launchers import LAUNCHERS, Listener, Outcome, label

# A pipe or file gets lines in full, as in dabench.cli.
console = Console(width=None if sys.stdout.isatty() else 100_000)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 100_000)
DEFAULT_RESULTS = Path("results")


def _duration(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class SweepView(Listener):
    """What a sweep shows while it runs: a live panel on a terminal, one line
    per finished run elsewhere."""

    def __init__(self, live: bool) -> None:
        self.live = live
        self._live: Live | None = None
        self.name = ""
        self.total = 0
        self.outcomes: list[Outcome] = []
        self.running: dict[str, tuple[str, float, str]] = {}

    # -- Listener hooks
    def stage(self, name, configs) -> None:
        if self.total:
            _info(f"[bold]{name} stage[/bold]: {len(configs)} runs of the trials selected earlier")
        self.name, self.total, self.outcomes, self.running = name, len(configs), [], {}

    def started(self, cfg, run_id) -> None:
        self.running[run_id] = (label(cfg), time.monotonic(), "")

    def step(self, run_id, step, total) -> None:
        if run_id in self.running:
            lab, t0, _ = self.running[run_id]
            self.running[run_id] = (lab, t0, f"step {step}/{total}")

    def finished(self, cfg, result: Outcome) -> None:
        self.running.pop(result.run_id, None)
        self.outcomes.append(result)
        n = len(self.outcomes)
        from dabench.cli import _summary

        if result.outcome == "failed":
            # An error: one line on stderr, shown even with -q.
            why = result.record.error if result.record is not None else result.error
            click.echo(
                f"[{n}/{self.total}] Error: {label(cfg)} failed: {_one_line(str(why))}", err=True
            )
            return
        _info(f"[{n}/{self.total}] " + _summary(result.record, result.reused, cfg.train.selection))

    # -- the live panel
    def __enter__(self) -> SweepView:
        if self.live:
            self._live = Live(
                get_renderable=self.render, console=console, refresh_per_second=2, transient=True
            )
            self._live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)

    def eta(self) -> float | None:
        """Seconds left: the mean duration of the runs this sweep ran, times
        the work left, shared among the runs going on at once."""
        ran = [o.seconds for o in self.outcomes if not o.reused and o.seconds > 0]
        if not ran:
            return None
        mean = sum(ran) / len(ran)
        now = time.monotonic()
        pending = self.total - len(self.outcomes) - len(self.running)
        left = pending * mean + sum(
            max(0.0, mean - (now - t0)) for _, t0, _ in self.running.values()
        )
        return left / max(1, len(self.running))

    def render(self) -> RichGroup:
        failed = sum(o.outcome == "failed" for o in self.outcomes)
        done = len(self.outcomes) - failed
        pending = self.total - len(self.outcomes) - len(self.running)
        eta = self.eta()
        head = Text.from_markup(
            f"[bold]{escape(self.name)}[/bold]  [green]done {done}[/green] · "
            f"[cyan]running {len(self.running)}[/cyan] · [red]failed {failed}[/red] · "
            f"pending {pending} · ETA {'–' if eta is None else _duration(eta)}"
        )
        table = Table("run in progress", "elapsed", "progress", box=None, show_header=True)
        now = time.monotonic()
        for lab, t0, prog in self.running.values():
            table.add_row(escape(lab), _duration(now - t0), prog)
        return RichGroup(head, table) if self.running else RichGroup(head)


def _info(text: str) -> None:
    from dabench.cli import _info as info

    info(text)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _run_suite(
    suite_ref: str,
    results: Path,
    force: bool,
    sets: tuple[str, ...],
    dry_run: bool,
    status: bool,
    how,
) -> None:
    from dabench import api
    from dabench.config import parse_set
    from dabench.sweep import find_suite, load_suite
    from dabench.sweep.runner import counts, plan, run_suite

    suite = load_suite(find_suite(suite_ref))
    overrides = parse_set(sets)
    api.recall_pairs(suite.pairs, results)  # user pairs named by earlier runs' records
    if status:
        _print_status(suite, plan(suite, results, overrides))
        return
    if dry_run:
        for p in plan(suite, results, overrides):
            c = p.cfg
            state = {"done": "recorded"}.get(p.state, p.state)
            # Tab-separated, one run a line: for grep, cut and scripts.
            click.echo(
                f"{p.stage}\t{c.method}\t{c.pair}\ttrial={c.hparams_seed}\tseed={c.seed}\t"
                f"{state}\t{p.run_id}"
            )
        return
    n = len(suite.methods) * len(suite.pairs) * len(suite.hparams_seeds) * len(suite.seeds)
    n_final = len(suite.methods) * len(suite.pairs) * len(suite.final_seeds)
    _info(
        f"[bold]{escape(suite.name)}[/bold]: {n} runs ({len(suite.methods)} methods x "
        f"{len(suite.pairs)} pairs x {len(suite.hparams_seeds)} trials x {len(suite.seeds)} seeds)"
        + (
            f", then each cell's trial selected by {suite.final_selection} with seeds "
            f"{suite.final_seeds} (up to {n_final} runs, fewer where recorded)"
            if suite.final_seeds
            else ""
        )
        + (f" — {escape(suite.description)}" if suite.description else "")
        + f"; launcher {how.launcher}"
        + (f", {how.jobs} at a time" if how.jobs else "")
    )
    with SweepView(live=console.is_terminal) as view:
        outcomes = run_suite(suite, results, how, force, overrides, view)
    c = counts(outcomes)
    console.print(f"runs: {', '.join(f'{v} {k}' for k, v in c.items()) or 'none'}")
    if c.get("collapsed") or c.get("diverged"):
        err_console.print(
            "[yellow]collapsed and diverged runs are results: the report counts them per cell[/yellow]"
        )
    if c.get("failed"):
        click.echo(
            f"Error: {c['failed']} run(s) failed ({', '.join(f'{v} {k}' for k, v in c.items())}); "
            "their records hold the error; rerun the same command to retry them",
            err=True,
        )
        sys.exit(1)


def _print_status(suite, planned) -> None:
    from dabench.sweep.runner import status_table

    rows = status_table(planned)
    total = {k: sum(r[k] for r in rows) for k in ("done", "failed", "pending")}
    table = Table("method", "pair", "done", "failed", "pending", title=f"{suite.name}: status")
    for r in rows:
        table.add_row(
            escape(r["method"]),
            escape(r["pair"]),
            str(r["done"]),
            f"[red]{r['failed']}[/red]" if r["failed"] else "0",
            str(r["pending"]),
        )
    console.print(table)
    more = (
        " (the final stage is counted as far as the search has selected its trials)"
        if suite.final_seeds
        else ""
    )
    console.print(
        f"{sum(total.values())} runs: {total['done']} done, {total['failed']} failed, "
        f"{total['pending']} pending{more}"
    )


_suite_options = [
    click.option(
        "--results", type=click.Path(path_type=Path), default=DEFAULT_RESULTS, show_default=True
    ),
    click.option("--force", is_flag=True, help="Rerun runs that are already recorded."),
    click.option(
        "--dry-run", is_flag=True, help="List every run (recorded or pending) without running."
    ),
    click.option(
        "--status",
        is_flag=True,
        help="Print done / failed / pending counts per method and pair from the records; run nothing.",
    ),
    click.option(
        "--set",
        "sets",
        multiple=True,
        metavar="KEY=VALUE",
        help="Override a config value for every run.",
    ),
    click.option(
        "--launcher",
        type=click.Choice(LAUNCHERS.names()),
        default="local",
        show_default=True,
        help="local: one run at a time here; pool: --jobs processes here; ray: Ray tasks.",
    ),
    click.option(
        "--jobs",
        "-j",
        type=int,
        default=None,
        help="Runs at a time (pool: default one per core; ray: one per GPU, else per CPU).",
    ),
    click.option(
        "--ray-address",
        default=None,
        metavar="ADDR",
        help="Join this Ray cluster (e.g. 10.0.0.1:6379, or auto) instead of starting Ray here.",
    ),
    click.option(
        "--track",
        type=click.Choice(["mlflow", "tensorboard"]),
        default=None,
        help="Also log each finished run to MLflow or TensorBoard (needs dabench[tracking]).",
    ),
    click.option(
        "--track-uri",
        default=None,
        help="MLflow tracking URI or TensorBoard folder (default ./mlruns, ./tensorboard).",
    ),
]


def _with_suite_options(f):
    for opt in reversed(_suite_options):
        f = opt(f)
    return f


def _launch(suite_ref: str, results, force, dry_run, status, sets, **kw) -> None:
    from dabench.sweep.runner import Launch

    how = Launch(
        launcher=kw["launcher"],
        jobs=kw["jobs"],
        address=kw["ray_address"],
        track=kw["track"],
        track_uri=kw["track_uri"],
    )
    _run_suite(suite_ref, results, force, sets, dry_run, status, how)


@click.command()
@click.argument("suite")
@_with_suite_options
def bench(suite: str, results: Path, force, dry_run, status, sets, **kw) -> None:
    """Run a benchmark suite by name (benchmarks/NAME.yaml), skipping recorded runs."""
    _launch(suite, results, force, dry_run, status, sets, **kw)


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@_with_suite_options
def sweep(file: Path, results: Path, force, dry_run, status, sets, **kw) -> None:
    """Run every config of a suite YAML file, skipping recorded runs."""
    if not file.exists():
        raise UserError(f"suite file {file} does not exist")
    _launch(str(file), results, force, dry_run, status, sets, **kw)


@click.command()
@click.option("--to", "backend", type=click.Choice(["mlflow", "tensorboard"]), required=True)
@click.option(
    "--results", type=click.Path(path_type=Path), default=DEFAULT_RESULTS, show_default=True
)
@click.option(
    "--uri",
    "--track-uri",
    "uri",
    default=None,
    help="MLflow tracking URI or TensorBoard folder (default ./mlruns, ./tensorboard).",
)
@click.option("--experiment", default="dabench", show_default=True, help="MLflow experiment.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
def track(backend: str, results: Path, uri: str | None, experiment: str, as_json: bool) -> None:
    """Export the records under RESULTS to MLflow or TensorBoard (runs already
    exported are skipped)."""
    from dabench.tracking import BACKENDS, track_results

    new, total = track_results(results, backend, uri, experiment)
    where = uri or BACKENDS[backend][1]
    if as_json:
        from dabench.cli import _echo_json

        _echo_json({"backend": backend, "uri": where, "exported": new, "records": total})
        return
    console.print(f"{new} of {total} records exported to {backend} at {where}")
