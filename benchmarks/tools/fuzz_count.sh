#!/usr/bin/env bash
# Run the property tests (tests/test_fuzz.py) with a larger budget and print
# how many inputs each tried, and the total.
#   benchmarks/tools/fuzz_count.sh [EXAMPLES_PER_TEST]   (default 500)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
counts=$(mktemp)
trap 'rm -f "$counts"' EXIT
DABENCH_FUZZ_EXAMPLES=${1:-500} DABENCH_FUZZ_COUNT_FILE=$counts OMP_NUM_THREADS=1 \
  "$PY" -m pytest -q -p no:cacheprovider tests/test_fuzz.py
sort "$counts" | awk -F'\t' '{printf "%8d  %s\n", $2, $1; n += $2} END {print n " fuzzed inputs tried"}'
