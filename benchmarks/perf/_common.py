"""What every performance harness shares: arguments, the machine description,
timing, and writing one section of ``benchmarks/perf/RESULTS.md``."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's dabench, not an installed one
warnings.filterwarnings("ignore", message="pkg_resources is deprecated")

import torch  # noqa: E402

RESULTS = HERE / "RESULTS.md"
HEADER = (
    "# Performance results\n\nWritten by the harnesses in benchmarks/perf (see its README), "
    "one section each; rerun a harness to replace its section, never edit by hand.\n"
)


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="a few steps: proves it runs, no figures")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument(
        "--out", type=Path, default=None, help="results file (default RESULTS.md; quick: none)"
    )
    return p


def setup(args: argparse.Namespace) -> torch.device:
    from dabench.train import resolve_device

    if args.threads:
        torch.set_num_threads(args.threads)
    return resolve_device(args.device)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_chunks(
    fn: Callable[[], object], device: torch.device, steps: int, warmup: int
) -> list[float]:
    """Seconds of each of ``steps`` calls of ``fn`` after ``warmup`` calls (the
    device synchronised around each call, so GPU time is counted)."""
    for _ in range(warmup):
        fn()
    sync(device)
    out = []
    for _ in range(steps):
        t = time.perf_counter()
        fn()
        sync(device)
        out.append(time.perf_counter() - t)
    return out


def median_ms(seconds: list[float]) -> float:
    return 1000 * statistics.median(seconds)


def machine(device: torch.device) -> str:
    """One Markdown line per fact about where the figures were measured."""
    from dabench.provenance import provenance

    info = provenance(device)
    dev = str(device)
    if device.type == "cuda":
        dev += f" ({torch.cuda.get_device_name(device)})"
    sha = (info.get("git_sha") or "unknown")[:12] + (" (dirty)" if info.get("git_dirty") else "")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return "\n".join(
        [
            f"- CPU: {info['cpu_model']}, {info['cpu_count']} cores; load average {load:.1f}",
            f"- torch {info['torch']} (CUDA {info['cuda']}), {torch.get_num_threads()} threads",
            f"- device: {dev}",
            f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}; git {sha}",
        ]
    )


def write_section(name: str, title: str, body: str, args: argparse.Namespace) -> None:
    """Print the section ``name`` and replace (or append) it in ``args.out``:
    ``RESULTS.md`` for a full run; a quick run writes only where ``--out`` says."""
    from dabench.train import resolve_device

    cmd = "python benchmarks/perf/" + " ".join([f"{name}.py", *sys.argv[1:]])
    quick = "\n**Quick mode: a smoke test, not a measurement.**\n" if args.quick else ""
    section = (
        f"<!-- perf:{name} -->\n## {title}\n\n`{cmd}`\n{quick}\n"
        f"{machine(resolve_device(args.device))}\n\n{body.strip()}\n<!-- /perf:{name} -->\n"
    )
    print(section)
    out = args.out if args.out is not None else (None if args.quick else RESULTS)
    if out is None:
        return
    text = out.read_text() if out.exists() else HEADER
    pattern = re.compile(rf"<!-- perf:{name} -->.*?<!-- /perf:{name} -->\n", re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text + "\n" + section
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)


def table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)
