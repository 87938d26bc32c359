#!/usr/bin/env bash
# The digit search behind the README's leaderboards (benchmarks/search_digits.yaml):
# 3 methods x 3 pairs x 8 trials x seed 0, then each cell's trial selected by
# source validation rerun with seeds 0, 1, 2. Resumes where it stopped.
# Then its leaderboards under source_val (honest), oracle (reads target
# labels) and the unsupervised validators, and the quick suite regenerated
# from the selected trials.
set -euo pipefail
cd "$(dirname "$0")/.."
S=benchmarks/search_digits.yaml
.venv/bin/dabench sweep "$S"
.venv/bin/dabench report --suite "$S" --show-trials --out benchmarks/output/search_digits.md
.venv/bin/dabench report --suite "$S" --metric f1
for rule in oracle snd im entropy last; do
  .venv/bin/dabench report --suite "$S" --selection "$rule" --show-trials \
    --out "benchmarks/output/search_digits_$rule.md"
done
.venv/bin/python benchmarks/tools/quick_from_search.py --search "$S" --results results > benchmarks/quick.yaml
