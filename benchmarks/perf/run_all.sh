#!/usr/bin/env bash
# Every performance harness in turn; each replaces its own section of
# benchmarks/perf/RESULTS.md. Extra arguments go to every harness
# (e.g. --device cuda, --threads 2, --quick to check they run).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python}
for h in step overhead scaling imagefolder launchers; do
    echo "== $h" >&2
    "$PY" benchmarks/perf/$h.py "$@"
done
