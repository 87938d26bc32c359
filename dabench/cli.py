"""The ``dabench`` command line: parse, call the library, print. No logic here."""

from __future__ import annotations

import errno
import json
import logging
import sys
import warnings
from pathlib import Path

import click

# torchmetrics 0.9.3 (pulled in by pytorch-adapt) warns on every import.
warnings.filterwarnings("ignore", message="pkg_resources is deprecated")

from rich.console import Console  # noqa: E402
from rich.markup import escape  # noqa: E402
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: E402
from rich.table import Table  # noqa: E402

from dabench.errors import Terminated, UserError  # noqa: E402

# A pipe or file gets tables in full: no truncated names a script could not grep.
console = Console(width=None if sys.stdout.isatty() else 100_000)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 100_000)
DEFAULT_RESULTS = Path("results")


_PATH_ERRNOS = {
    errno.ENAMETOOLONG,
    errno.ENOENT,
    errno.ENOTDIR,
    errno.EISDIR,
    errno.EACCES,
    errno.EPERM,
    errno.ELOOP,
    errno.EROFS,
    errno.EEXIST,
}


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class Group(click.Group):
    """Turns a UserError anywhere below into one line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except UserError as e:
            click.echo(f"Error: {_one_line(e)}", err=True)
            ctx.exit(2)
        except OSError as e:
            # A path the user gave that cannot be used (missing, too long, not
            # allowed): their input, not a bug. Anything else propagates.
            if e.errno not in _PATH_ERRNOS:
                raise
            where = f"{e.filename}: " if e.filename else ""
            click.echo(f"Error: cannot use {where}{_one_line(e.strerror or e)}", err=True)
            ctx.exit(2)

    def main(self, *args, standalone_mode: bool = True, **kwargs):
        """As click's, but every usage error is one line (exit 2), and Ctrl-C
        and SIGTERM stop with one line and exit 130 / 143: the run in progress
        writes no record and gives its lock back, so a rerun resumes."""
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        argv = kwargs.get("args", args[0] if args else None)
        argv = sys.argv[1:] if argv is None else argv
        if any("\x00" in str(a) for a in argv):
            # A shell cannot pass one; a program can, and no path or name may hold it.
            click.echo("Error: an argument contains a NUL character", err=True)
            sys.exit(2)
        _verbosity.clear()
        log = logging.getLogger("dabench")
        level = log.level
        _quiet_consoles(False)
        log.setLevel(logging.WARNING)
        handler = _EchoHandler()
        log.addHandler(handler)
        restore = _on_sigterm()
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except click.Abort as e:
            if not isinstance(e.__cause__, KeyboardInterrupt):
                raise
            _stopped("interrupted (Ctrl-C)", 130)
        except KeyboardInterrupt:
            _stopped("interrupted (Ctrl-C)", 130)
        except Terminated:
            _stopped("terminated (SIGTERM)", 143)
        except click.ClickException as e:
            hint = ""
            if isinstance(e, click.UsageError) and e.ctx is not None:
                hint = f" (see `{e.ctx.command_path} --help`)"
            click.echo(f"Error: {_one_line(e.format_message())}{hint}", err=True)
            sys.exit(2)
        finally:
            restore()
            log.removeHandler(handler)
            log.setLevel(level)
            _quiet_consoles(False)
        sys.exit(rv if isinstance(rv, int) else 0)


class _EchoHandler(logging.Handler):
    """dabench's log lines on stderr as it is now (under CliRunner too, and
    above a live progress bar); -q raises the level to errors, -v lowers it
    to info."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            msg = record.getMessage()
            if record.levelno >= logging.WARNING:
                msg = f"{record.levelname.lower()}: {msg}"
            click.echo(msg, err=True)
        except Exception:
            self.handleError(record)


def _stopped(why: str, code: int) -> None:
    click.echo(
        f"{why}: the run in progress was not recorded; rerun the same command to resume",
        err=True,
    )
    sys.exit(code)


def _on_sigterm():
    """Make SIGTERM unwind like Ctrl-C (locks released, no partial record);
    returns what undoes it. Only the main thread may set a handler."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum, frame):
        raise Terminated()

    old = signal.signal(signal.SIGTERM, handler)
    return lambda: signal.signal(signal.SIGTERM, old)


# -v/-q are accepted before and after the subcommand (dabench -v run ...,
# dabench run -v ...); see _add_verbosity at the end of this module.
_verbosity: dict[str, bool] = {}


def _set_verbosity(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value:
        return
    _verbosity[param.name] = True
    if _verbosity.get("verbose") and _verbosity.get("quiet"):
        raise click.UsageError("-v/--verbose and -q/--quiet contradict each other")
    quiet = param.name == "quiet"
    logging.getLogger("dabench").setLevel(logging.ERROR if quiet else logging.INFO)
    _quiet_consoles(quiet)


def _quiet_consoles(quiet: bool) -> None:
    # Progress bars and notes go to stderr; errors are echoed apart and stay.
    from dabench import cli_fewshot

    err_console.quiet = cli_fewshot.err_console.quiet = quiet


def _verbosity_options() -> list[click.Option]:
    return [
        click.Option(
            ["-v", "--verbose"],
            is_flag=True,
            expose_value=False,
            callback=_set_verbosity,
            help="Log progress details.",
        ),
        click.Option(
            ["-q", "--quiet"],
            is_flag=True,
            expose_value=False,
            callback=_set_verbosity,
            help="Only results and errors: no progress bars or notes.",
        ),
    ]


def _add_verbosity(cmd: click.Command) -> None:
    """Give ``cmd`` and every command below it -v and -q."""
    if not any(p.name == "verbose" for p in cmd.params):
        cmd.params.extend(_verbosity_options())
    for sub in getattr(cmd, "commands", {}).values():
        _add_verbosity(sub)


def _quiet() -> bool:
    return bool(_verbosity.get("quiet"))


def _info(text: str) -> None:
    """A note on stdout that -q silences (results and errors are not notes)."""
    if not _quiet():
        console.print(text)


@click.group(cls=Group)
@click.version_option(package_name="dabench")
def main() -> None:
    """dabench: which transfer method works on your domain shift, how well,
    how reliably, at what cost."""
    from dabench.plugins import load_plugins

    load_plugins()


# ------------------------------------------------------------------- list

LISTABLE = ("methods", "search", "pairs", "backbones", "selectors")


_json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print JSON on stdout instead of a table."
)


def _echo_json(data) -> None:
    click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


@main.command("list")
@click.argument("what", type=click.Choice(LISTABLE), default="methods")
@click.option("--long", "long", is_flag=True, help="Add each method's one-line description.")
@_json_option
def list_cmd(what: str, long: bool, as_json: bool) -> None:
    """List registered methods, search spaces, pairs, backbones or selection rules.

    Methods are listed with their family, the target data they see, paper and
    origin (built-in, or the plugin distribution that registered them)."""
    from dabench import api

    rows, columns = api.describe(what, long=long or as_json)
    if as_json:
        _echo_json([dict(zip(columns, row, strict=True)) for row in rows])
        return
    table = Table(*columns, title=f"dabench {what}")
    for row in rows:
        table.add_row(*[str(c) for c in row])
    console.print(table)


# -------------------------------------------------------------------- run

_root_option = click.option(
    "--data-root",
    type=click.Path(path_type=Path),
    default=None,
    help="Where datasets live (default $DABENCH_DATA, else ~/.cache/dabench).",
)


def _progress_factory(progress: Progress, label: str):
    task = progress.add_task(label, total=None, info="")

    def update(step: int, total: int, parts: dict[str, float]) -> None:
        loss = parts.get("loss")
        progress.update(
            task, completed=step, total=total, info=f"loss {loss:.3f}" if loss is not None else ""
        )

    return update


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[info]}"),
        console=err_console,
        transient=True,
        disable=_quiet(),
    )


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f}%"


def _summary(rec, reused: bool, rule: str) -> str:
    """One line for a RunRecord, under the selection rule the user asked for."""
    what = f"{rec.method} on {rec.pair} trial {rec.hparams_seed} seed {rec.seed}"
    m = rec.by_selection.get(rule)
    if m is None:
        return f"[red]{escape(what)}: {rec.status}[/red] ({escape(str(rec.error))})"
    tag = " [dim](recorded earlier; --force to rerun)[/dim]" if reused else ""
    text = (
        f"{what}: target acc [bold]{_pct(m.target_test_acc)}[/bold], macro-F1 "
        f"{_pct(m.target_test_f1)} (selected by {rule} at step {m.step}; source val acc "
        f"{_pct(m.source_val_acc)}){tag}"
    )
    if rec.status == "collapsed":
        text += (
            f" [yellow]COLLAPSED at step {rec.collapse['step']}: {rec.collapse['reason']}[/yellow]"
        )
    return text


@main.command()
@click.option("--method", "-m", required=True, help="Method name (see `dabench list methods`).")
@click.option("--pair", "-p", required=True, help="Pair name (see `dabench list pairs`).")
@click.option("--seed", "-s", type=int, default=0, show_default=True, help="Training seed.")
@click.option(
    "--hparams-seed",
    type=int,
    default=None,
    help="Hyperparameter trial: 0 = defaults, K > 0 = draw K of the search space "
    "(see `dabench list search`).",
)
@click.option(
    "--steps", type=int, default=None, help="Training steps (same as --set train.steps=N)."
)
@click.option(
    "--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a config value; repeatable."
)
@click.option(
    "--results", type=click.Path(path_type=Path), default=DEFAULT_RESULTS, show_default=True
)
@click.option(
    "--device",
    default=None,
    help="auto (default), cpu, cuda or cuda:N. Not part of the config hash.",
)
@_root_option
@click.option(
    "--download", is_flag=True, help="Fetch missing datasets that have a public download."
)
@click.option(
    "--force", is_flag=True, help="Rerun even if this config and seed are already recorded."
)
@click.option(
    "--dry-run", is_flag=True, help="Check the config and print its run key; run nothing."
)
@_json_option
def run(
    method,
    pair,
    seed,
    hparams_seed,
    steps,
    sets,
    results,
    device,
    data_root,
    download,
    force,
    dry_run,
    as_json,
) -> None:
    """Train one method on one pair and record the result."""
    from dabench import api
    from dabench.config import build_config, parse_set

    overrides = parse_set(sets)
    if hparams_seed is not None:
        overrides["hparams_seed"] = hparams_seed
    if steps is not None:
        overrides["train.steps"] = steps
    if device is not None:
        overrides["device"] = device
    if data_root is not None:
        overrides["data.root"] = str(data_root)
    if download:
        overrides["data.download"] = True
    api.recall_pairs([pair], results)
    cfg = build_config(method, pair, seed, overrides=overrides)
    if dry_run:
        from dabench.train import resolve_device

        resolve_device(cfg.device)
        run_id = api.run_id_for(cfg)[0]
        done = Path(results).is_dir() and api.existing_record(cfg, results) is not None
        click.echo(f"{'recorded' if done else 'pending'}\t{run_id}")
        return
    try:
        with _progress() as progress:
            rec, reused = api.run(
                cfg,
                results,
                force=force,
                progress=_progress_factory(progress, f"{method} {pair} s{seed}"),
            )
    except api.RunningElsewhere as e:
        click.echo(
            f"Error: {e.run_id} is running in another process; rerun later to reuse its record",
            err=True,
        )
        sys.exit(1)
    if as_json:
        _echo_json({"reused": reused, "record": rec.to_dict()})
    else:
        console.print(_summary(rec, reused, cfg.train.selection))
    if rec.status != "ok":
        sys.exit(1)


# ------------------------------------------------------------------- data


@main.group(cls=Group)
def data() -> None:
    """Which datasets are on disk; fetch or build the ones that can be."""


@data.command("status")
@_root_option
@_json_option
def data_status(data_root: Path | None, as_json: bool) -> None:
    """Every pair: is its data available, how big, where."""
    from dabench.data.pairs import DataContext
    from dabench.data.status import human_size, pair_status

    ctx = DataContext.default(data_root)
    if as_json:
        from dabench import api

        _echo_json(api.data_status(ctx))
        return
    table = Table("pair", "source", "target", "size", "paths", title=f"data under {ctx.root}")

    def cell(s) -> str:
        colour = "green" if s.available else "red"
        return f"[{colour}]{s.how}[/{colour}]"

    for name, src, tgt in pair_status(ctx):
        size = (
            sum(s.size_bytes or 0 for s in (src, tgt))
            if (src.size_bytes or tgt.size_bytes)
            else None
        )
        paths = (
            ", ".join(dict.fromkeys(str(p) for p in src.paths + tgt.paths))
            or "(inside installed packages)"
        )
        table.add_row(
            name, cell(src), cell(tgt), human_size(size, src.size_exact and tgt.size_exact), paths
        )
    console.print(table)


@data.command("prepare")
@click.argument("pair")
@_root_option
def data_prepare(pair: str, data_root: Path | None) -> None:
    """Download (checksum-verified) or build the data PAIR needs."""
    from dabench.data.pairs import DataContext
    from dabench.data.status import human_size, prepare

    ctx = DataContext.default(data_root, download=True)
    src, tgt = prepare(pair, ctx)
    for s in (src, tgt):
        console.print(f"{s.domain}: {s.how}, {human_size(s.size_bytes, s.size_exact)}")
    console.print(f"[green]{pair} is ready[/green]")


# ------------------------------------------------------------------- pair


@main.group(cls=Group)
def pair() -> None:
    """User-defined pairs (YAML files; schema in `dabench/data/user_pairs.py`)."""


@pair.command("check")
@click.argument("file", type=click.Path(path_type=Path))
@_root_option
def pair_check(file: Path, data_root: Path | None) -> None:
    """Validate a pair FILE against its folders; print images per class on both sides."""
    from dabench.data.user_pairs import check_pair_file

    p, rows = check_pair_file(file, data_root)
    table = Table("class", "source images", "target images", title=f"pair {p.name}")
    for name, n_src, n_tgt in rows:
        table.add_row(escape(name), str(n_src), str(n_tgt))
    table.add_row("[bold]total[/bold]", *(str(sum(r[i] for r in rows)) for i in (1, 2)))
    console.print(table)
    console.print(
        f"[green]{p.name}: {len(rows)} classes, images {p.input_shape[1]}px, "
        f"backbone {p.default_backbone}[/green]"
    )


# ----------------------------------------------------------------- report


@main.command()
@click.option(
    "--results", type=click.Path(path_type=Path), default=DEFAULT_RESULTS, show_default=True
)
@click.option("--metric", type=click.Choice(["acc", "f1"]), default="acc", show_default=True)
@click.option(
    "--selection",
    default="source_val",
    show_default=True,
    help="Checkpoint-selection rule (see `dabench list selectors`).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "csv", "latex", "html", "json"]),
    default="md",
    show_default=True,
    help="Format of --out.",
)
@click.option(
    "--out",
    type=str,
    default=None,
    help="Also write the report here in --format; - writes it to stdout instead of the tables.",
)
@click.option(
    "--suite", default=None, help="Only the runs of this benchmark suite (name or YAML path)."
)
@click.option(
    "--show-trials", is_flag=True, help="Also list every hyperparameter trial of every cell."
)
@click.option(
    "--per-class",
    "per_class_pair",
    default=None,
    metavar="PAIR",
    help="Also show per-class precision, recall, F1 and confusion matrices on PAIR.",
)
@click.option(
    "--references",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder of published numbers (default configs/references).",
)
@_json_option
def report(
    results: Path,
    metric: str,
    selection: str,
    fmt: str,
    out: str | None,
    suite: str | None,
    show_trials: bool,
    per_class_pair: str | None,
    references: Path | None,
    as_json: bool,
) -> None:
    """Print the leaderboard of every recorded run; also writes it (md, wide and
    long csv) into RESULTS.

    For each method and pair the --selection rule picks the hyperparameter trial
    with the best mean score over seeds, and the checkpoints within each run."""
    from dabench import api
    from dabench.report.perclass import per_class, per_class_markdown
    from dabench.sweep.runner import report_suite

    kw = dict(
        metric=metric,
        selection=selection,
        out=None if out is None else (out if out == "-" else Path(out)),
        fmt=fmt,
        show_trials=show_trials,
        references=references,
        per_class_pair=per_class_pair,
    )
    lb, written, text = report_suite(suite, results, **kw) if suite else api.report(results, **kw)
    pcs = per_class(lb, per_class_pair) if per_class_pair else []
    if out == "-":
        click.echo(text, nl=False)
        if pcs and fmt == "md":
            click.echo("\n" + per_class_markdown(pcs), nl=False)
        return
    if as_json:
        from dabench.report.export import to_dict

        data = to_dict(lb)
        data["per_class"] = [pc.to_dict() for pc in pcs]
        data["written"] = [str(p) for p in written]
        _echo_json(data)
        return
    from dabench.report.render import console_frames, statistics_text

    for caption, frame in console_frames(lb, show_trials, pcs):
        _print_frame(caption, frame)
    for line in statistics_text(lb):
        console.print(f"[dim]{escape(line)}[/dim]")
    for note in lb.notes:
        console.print(f"[yellow]- {escape(note)}[/yellow]")
    _info(f"[dim]written: {escape(', '.join(str(p) for p in written))}[/dim]")


def _print_frame(caption: str, frame) -> None:
    # Escaped: variant labels such as coral[weight=5] are not rich markup.
    table = Table(*[escape(str(c)) for c in frame.columns], title=escape(caption))
    for row in frame.itertuples(index=False):
        table.add_row(*[escape(str(c)) for c in row])
    console.print(table)


# Few-shot protocol and many-run commands live in their own modules.
from dabench.cli_fewshot import cache, curve  # noqa: E402
from dabench.cli_sweep import bench, sweep, track  # noqa: E402

main.add_command(curve)
main.add_command(cache)
main.add_command(bench)
main.add_command(sweep)
main.add_command(track)
_add_verbosity(main)


if __name__ == "__main__":
    main()
