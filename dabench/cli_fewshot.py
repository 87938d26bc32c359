"""CLI commands of the few-shot protocol: ``dabench curve`` and ``dabench cache``.

Registered on the main group in :mod:`dabench.cli`; parse, call the library,
print. User errors propagate to the main group (one line, exit code 2).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

# A pipe or file gets tables in full, as in dabench.cli.
console = Console(width=None if sys.stdout.isatty() else 100_000)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 100_000)


@click.command()
@click.option(
    "--method", "-m", "methods", required=True, help="Few-shot method(s), comma-separated."
)
@click.option("--pair", "-p", required=True, help="Pair name (see `dabench list pairs`).")
@click.option(
    "--shots", default="1,5,10,20", show_default=True, help="Values of k, comma-separated."
)
@click.option("--episodes", type=int, default=20, show_default=True, help="Support draws per k.")
@click.option(
    "--ways", type=int, default=0, show_default=True, help="n-way subset (0: all classes)."
)
@click.option("--seed", "-s", type=int, default=0, show_default=True, help="Training seed.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a config value.")
@click.option(
    "--results", type=click.Path(path_type=Path), default=Path("results"), show_default=True
)
@click.option(
    "--out", type=click.Path(path_type=Path), default=None, help="PNG path (default in RESULTS)."
)
@click.option("--device", default=None, help="auto (default), cpu, cuda or cuda:N.")
@click.option("--force", is_flag=True, help="Rerun episodes that are already recorded.")
def curve(methods, pair, shots, episodes, ways, seed, sets, results, out, device, force) -> None:
    """Target accuracy against k labelled target images per class: records, table, PNG."""
    from dabench.config import parse_set
    from dabench.curve import parse_list, run_curve

    overrides = parse_set(sets)
    if device is not None:
        overrides["device"] = device
    method_list = parse_list(methods, "method")
    ks = parse_list(shots, "shots", int)
    # The results folder is made only once the curve's configs are valid
    # (api.sweep makes it): a user error leaves nothing on disk.
    total = len(method_list) * len(ks) * episodes
    done = {"n": 0, "failed": 0}

    def on_record(cfg, rec, reused) -> None:
        done["n"] += 1
        done["failed"] += rec.status != "ok"
        if rec.status != "ok":
            err_console.print(f"[red]{rec.run_id}: {rec.status} ({rec.error})[/red]")
        elif not reused or done["n"] == total:
            err_console.print(
                f"[dim][{done['n']}/{total}] {cfg.method} k={cfg.data.shots} "
                f"episode {cfg.data.episode}[/dim]"
            )

    c = run_curve(
        method_list,
        pair,
        ks,
        episodes,
        results,
        ways,
        seed,
        overrides,
        force,
        out,
        on_record=on_record,
    )
    way = f"{ways}-way" if ways else "all classes"
    table = Table(
        "method",
        *[f"k={k}" for k in ks],
        title=f"{c.pair}, {way}: target test acc (%), mean ± 95% CI over episodes",
    )
    for m in method_list:
        cells = []
        for k in ks:
            row = c.table[(c.table["method"] == m) & (c.table["shots"] == k)]
            if row.empty:
                cells.append("n/a")
                continue
            mean, ci, n = row["mean"].iloc[0], row["ci95"].iloc[0], row["episodes"].iloc[0]
            cells.append(
                f"{mean:.2f} ± {ci:.2f} ({n})" if not math.isnan(ci) else f"{mean:.2f} ({n})"
            )
        table.add_row(m, *cells)
    console.print(table)
    for ref in c.references:
        console.print(f"reference: {ref.label} = {ref.acc:.2f}% ({ref.n} run(s))")
    if not c.references and not ways:
        console.print(
            "[yellow]no source_only or unsupervised records for this pair in "
            f"{results}: the plot has no reference lines[/yellow]"
        )
    console.print(f"[dim]written: {', '.join(str(p) for p in c.written)}[/dim]")
    if done["failed"]:
        sys.exit(1)


@click.group()
def cache() -> None:
    """The frozen-feature cache (DABENCH_FEATURE_CACHE, bounded by DABENCH_FEATURE_CACHE_MAX_MB)."""


@cache.command("status")
def cache_status() -> None:
    """Entries, total size and bound of the feature cache."""
    from dabench.data import feature_cache as fc
    from dabench.data.status import human_size

    root = fc.cache_dir()
    if root is None:
        console.print("feature cache is off (DABENCH_FEATURE_CACHE=off)")
        return
    es = fc.entries(root)
    table = Table(
        "entry",
        "backbone",
        "domain",
        "split",
        "size",
        title=f"feature cache {root}: {len(es)} entries, "
        f"{human_size(sum(e.size for e in es), True)} of "
        f"{human_size(fc.max_bytes(), True)}",
    )
    for e in sorted(es, key=lambda e: -e.last_used):
        k = e.key
        table.add_row(
            e.path.stem,
            str(k.get("backbone", "?")),
            str(k.get("domain", "?")),
            str(k.get("split", "?")),
            human_size(e.size, True),
        )
    console.print(table)


@cache.command("clear")
def cache_clear() -> None:
    """Delete every cached feature file."""
    from dabench.data import feature_cache as fc

    root = fc.cache_dir()
    n = fc.clear(root) if root is not None else 0
    console.print(f"removed {n} feature cache entr{'y' if n == 1 else 'ies'} from {root}")
