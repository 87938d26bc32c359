"""Split a suite into one suite file per method x pair cell, for running cells in parallel.

    python benchmarks/tools/split_cells.py benchmarks/zoo_digits.yaml /tmp/cells
    ls /tmp/cells/*.yaml | xargs -P 14 -n 1 python -m dabench sweep

Each cell's file keeps the suite's trials, seeds, overrides and final stage,
so the runs (and their keys) are exactly the suite's: `dabench report --suite
SUITE` reads them as if one `dabench sweep SUITE` had made them. Cells are
independent (a cell's final stage depends only on its own trials), so no two
processes ever run the same key. Written in order of the suite's methods,
pairs interleaved, so slow methods spread across workers.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml


def main(suite: str, out: str) -> None:
    spec = yaml.safe_load(Path(suite).read_text())
    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    n = 0
    for method in spec["methods"]:
        for pair in spec["pairs"]:
            cell = dict(spec, methods=[method], pairs=[pair])
            cell["name"] = f"{spec['name']}__{method.replace('+', '_')}__{pair}"
            (d / f"{n:03d}_{cell['name']}.yaml").write_text(yaml.safe_dump(cell, sort_keys=False))
            n += 1
    print(f"{n} cell suites in {d}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: split_cells.py SUITE.yaml OUTDIR")
    main(sys.argv[1], sys.argv[2])
