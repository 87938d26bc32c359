#!/usr/bin/env bash
# Checks that need a CUDA GPU, in one go (CI has none):
#   - the tests marked `gpu` (GPU-resident batches);
#   - the trainer's CUDA path: DANN on mnist2digits, 500 steps, with bf16 AMP
#     (train.amp=auto resolves on for CUDA) and without (train.amp=false);
#   - a short pretrained-backbone run (efficientnet_lite0, ImageNet weights);
#   - the performance harnesses of benchmarks/perf/ on the GPU.
# Usage: bash benchmarks/gpu_checks.sh OUTDIR     (PYTHON=python3 to choose the interpreter)
# Writes OUTDIR/gpu_checks.md, OUTDIR/results/ (run records) and OUTDIR/perf_cuda.md.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: gpu_checks.sh OUTDIR}
PY=${PYTHON:-python}
mkdir -p "$OUT/results"
run() { "$PY" -m dabench run --device cuda --results "$OUT/results" "$@" 2>&1 | tail -1; }
{
    echo "# GPU checks"
    echo
    echo "- date: $(date -u +%FT%TZ); git: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "- GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader)"
    echo "- $("$PY" -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda)')"
    echo "- command: bash benchmarks/gpu_checks.sh $OUT"
    echo
    echo "## Tests marked gpu"
    echo '```'
    "$PY" -m pytest -q -p no:cacheprovider -m gpu tests 2>&1 | tail -3
    echo '```'
    echo "## Trainer on CUDA: dann, mnist2digits, 500 steps, AMP on (bf16) and off"
    echo '```'
    for amp in auto false; do
        s=$(date +%s.%N)
        run --method dann --pair mnist2digits --steps 500 --set train.eval_every=100 --set train.amp=$amp
        echo "train.amp=$amp: $(python3 -c "print(round($(date +%s.%N) - $s, 1))") s wall, process start included"
    done
    echo '```'
    echo "## Pretrained backbone: source_only, efficientnet_lite0 (ImageNet), mnist2digits, 100 steps"
    echo '```'
    run --method source_only --pair mnist2digits --steps 100 --set train.eval_every=50 --set backbone=efficientnet_lite0
    echo '```'
    echo "## Records"
    echo '```'
    "$PY" - "$OUT/results" <<'PY'
import sys
from pathlib import Path

from dabench.records import load_records
for r in sorted(load_records(Path(sys.argv[1])), key=lambda r: r.run_id):
    sel = r.by_selection.get("source_val")
    acc = None if sel is None or sel.target_test_acc is None else round(100 * sel.target_test_acc, 2)
    print(f"{r.method:12s} backbone={r.backbone:18s} amp={r.config['train'].get('amp')} "
          f"device={r.provenance.get('device_name') or r.provenance.get('device')} status={r.status} "
          f"target_acc={acc}% train_s={r.timing.get('train_seconds')} "
          f"img/s={r.costs.get('images_per_second')} peak_mb={r.costs.get('peak_memory_mb')}")
PY
    echo '```'
} > "$OUT/gpu_checks.md" 2>&1
PYTHON="$PY" bash benchmarks/perf/run_all.sh --device cuda --out "$OUT/perf_cuda.md" > "$OUT/perf_log.txt" 2>&1
echo "perf harnesses: exit $?" >> "$OUT/gpu_checks.md"
