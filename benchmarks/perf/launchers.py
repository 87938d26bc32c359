"""Suite launchers side by side: one suite (the quick suite by default, at a
reduced step budget so three full passes fit in minutes) run with `local`,
`pool --jobs J` and `ray` (a local Ray with J CPUs), each into a fresh results
folder; wall time, speed-up over `local`, and the per-run overhead beyond the
runs' own time.

    python benchmarks/perf/launchers.py [--quick] [--suite quick] [--steps 500] [--jobs 2]

Per-run overhead = (wall - summed run time / J) * J / runs: the time a run
spends outside its own training and evaluation (process start, scheduling,
record transfer), with Ray's start-up counted apart. Every launcher writes the
same run keys; the harness checks that they match.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (first: puts this checkout on the path)
from _common import parser, table, write_section


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--suite", default="quick")
    p.add_argument("--steps", type=int, default=500, help="the suite's runs at this many steps")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--launchers", default="local,pool,ray")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from dabench.records import load_records
    from dabench.sweep import find_suite, load_suite
    from dabench.sweep.runner import Launch, run_suite

    suite = load_suite(find_suite(args.suite))
    steps = 20 if args.quick else args.steps
    every = max(1, steps // 5)
    overrides = {"train.steps": steps, "train.eval_every": every, "device": args.device}
    rows, keys, base = [], {}, None
    for name in args.launchers.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            results = Path(tmp) / "results"
            startup = 0.0
            if name == "ray":
                import ray

                t = time.perf_counter()
                ray.init(
                    num_cpus=args.jobs,
                    include_dashboard=False,
                    object_store_memory=128 * 2**20,
                    logging_level=logging.ERROR,
                    log_to_driver=False,
                )
                startup = time.perf_counter() - t
            jobs = None if name == "local" else args.jobs
            t = time.perf_counter()
            outcomes = run_suite(suite, results, Launch(name, jobs), overrides=overrides)
            wall = time.perf_counter() - t
            if name == "ray":
                ray.shutdown()
            records = load_records(results)
            keys[name] = sorted(r.run_id for r in records)
            failed = sum(o.outcome == "failed" for o in outcomes)
            busy = sum(r.timing.get("total_seconds", 0.0) for r in records)
            n = len(records)
            par = jobs or 1
            over = (wall - busy / par) * par / max(n, 1)
            base = base or wall
            rows.append(
                [
                    name if jobs is None else f"{name} --jobs {jobs}",
                    n,
                    failed,
                    f"{wall:.1f}",
                    f"{base / wall:.2f}x",
                    f"{wall / base:.2f}",
                    f"{busy:.1f}",
                    f"{over:.2f}",
                    f"{startup:.1f}" if name == "ray" else "–",
                ]
            )
    same = len({tuple(v) for v in keys.values()}) == 1
    body = (
        f"Suite `{suite.name}` ({len(keys[next(iter(keys))])} runs) at {steps} steps "
        f"(evaluation every {every}), each launcher into a fresh results folder; "
        f"run keys identical across launchers: **{'yes' if same else 'NO'}**. "
        "Run s: the records' summed run time (training, evaluation, data loading).\n\n"
        + table(
            [
                "launcher",
                "runs",
                "failed",
                "wall s",
                "speed-up",
                "wall / local",
                "run s",
                "overhead s / run",
                "Ray start s",
            ],
            rows,
        )
    )
    write_section("launchers", "Suite launchers: local vs process pool vs Ray", body, args)


if __name__ == "__main__":
    main()
