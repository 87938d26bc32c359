#!/usr/bin/env bash
# The method zoo (benchmarks/zoo_digits.yaml): 25 methods x 3 digit pairs x 3
# trials at 500 steps, then each cell's source_val-selected trial rerun with
# seeds 0, 1, 2: 375 runs. Resumes where it stopped. JOBS=N runs N method x pair
# cells at once, one thread each (each cell is an independent sweep, so no two
# processes ever run the same key); RESULTS=DIR records elsewhere.
# Then the leaderboards: source_val (honest) and oracle (reads target labels).
set -euo pipefail
cd "$(dirname "$0")/.."
S=benchmarks/zoo_digits.yaml
PY=${PYTHON:-.venv/bin/python}
JOBS=${JOBS:-2}
RESULTS=${RESULTS:-results}
cells=$(mktemp -d)
trap 'rm -rf "$cells"' EXIT
"$PY" benchmarks/tools/split_cells.py "$S" "$cells"
status=0
ls "$cells"/*.yaml | OMP_NUM_THREADS=1 xargs -P "$JOBS" -n 1 "$PY" -m dabench sweep --results "$RESULTS" || status=$?
"$PY" -m dabench report --suite "$S" --results "$RESULTS" --show-trials --out benchmarks/output/zoo_digits.md
"$PY" benchmarks/tools/suite_compute.py "$S" --results "$RESULTS" > benchmarks/output/zoo_digits_compute.txt
"$PY" -m dabench report --suite "$S" --results "$RESULTS" --selection oracle --show-trials \
    --out benchmarks/output/zoo_digits_oracle.md
exit $status
