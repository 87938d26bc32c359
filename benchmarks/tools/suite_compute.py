"""How much compute a suite's records hold: runs, statuses and summed run time
(``timing.total_seconds``) per CPU model, from the records alone.

    python benchmarks/tools/suite_compute.py benchmarks/zoo_digits.yaml [--results results]
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict
from pathlib import Path

from dabench.records import load_records
from dabench.sweep import find_suite, load_suite, suite_run_ids


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("suite")
    p.add_argument("--results", type=Path, default=Path("results"))
    args = p.parse_args()
    suite = load_suite(find_suite(args.suite))
    records = load_records(args.results)
    ids = suite_run_ids(suite, args.results, records=records)
    mine = [r for r in records if r.run_id in ids]
    by_cpu: dict[str, list[float]] = defaultdict(list)
    for r in mine:
        by_cpu[r.provenance.get("cpu_model") or "unknown"].append(
            r.timing.get("total_seconds", 0.0)
        )
    print(f"suite {suite.name}: {len(mine)} runs, statuses {dict(Counter(r.status for r in mine))}")
    for cpu, secs in sorted(by_cpu.items()):
        print(f"  {cpu}: {len(secs)} runs, {sum(secs) / 60:.1f} min summed run time")
    total = sum(sum(v) for v in by_cpu.values())
    print(f"  total: {total / 60:.1f} min summed run time")


if __name__ == "__main__":
    main()
