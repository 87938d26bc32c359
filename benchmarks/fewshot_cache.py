"""Frozen-feature cache speedup on one k-shot sweep, and the sweep's records.

The sweep: fewshot_proto and fewshot_linear on mnist2digits with the
ImageNet-pretrained efficientnet_lite0, k in {1, 5, 10, 20}, 20 episodes each
(160 runs). Timed three ways, every run forced (no record reuse):

* cold cache: an empty cache directory, so the first run extracts and stores
  the features of target train and target test and the other 159 read them;
* warm cache: the same sweep again;
* no cache (DABENCH_FEATURE_CACHE=off): every run extracts its features. Run
  for ``--nocache-runs`` of the 160 configs only (each costs a full backbone
  pass over the target) and extrapolated to 160 by their mean.

Usage: python benchmarks/fewshot_cache.py [--results results/fewshot] [--nocache-runs 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

METHODS = ["fewshot_proto", "fewshot_linear"]
PAIR = "mnist2digits"
SHOTS = [1, 5, 10, 20]
EPISODES = 20
SETS = {"backbone": "efficientnet_lite0", "device": "cpu"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", type=Path, default=Path("results/fewshot"))
    ap.add_argument("--nocache-runs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/output/fewshot_cache.md"))
    args = ap.parse_args()
    os.environ["DABENCH_FEATURE_CACHE"] = tempfile.mkdtemp(prefix="dabench-features-")

    import torch

    from dabench import api
    from dabench.curve import curve_configs, run_curve, to_markdown

    def sweep() -> tuple[float, object]:
        t0 = time.perf_counter()
        c = run_curve(METHODS, PAIR, SHOTS, EPISODES, args.results, overrides=SETS, force=True)
        return time.perf_counter() - t0, c

    cold, curve = sweep()
    warm, _ = sweep()
    configs = curve_configs(METHODS, PAIR, SHOTS, EPISODES, overrides=SETS)
    os.environ["DABENCH_FEATURE_CACHE"] = "off"
    scratch = Path(tempfile.mkdtemp(prefix="dabench-nocache-"))
    # Spread the measured runs over the sweep: first and last config, then evenly.
    step = max(1, (len(configs) - 1) // max(1, args.nocache_runs - 1))
    picked = configs[::step][: args.nocache_runs]
    per_run = []
    for cfg in picked:
        t0 = time.perf_counter()
        rec, _ = api.run(cfg, scratch, force=True)
        per_run.append(time.perf_counter() - t0)
        assert rec.status == "ok", rec.error
    nocache = statistics.mean(per_run) * len(configs)
    lines = [
        f"**Feature cache speedup: {len(configs)}-run k-shot sweep** "
        f"({', '.join(METHODS)} on {PAIR}, efficientnet_lite0, k in {SHOTS}, {EPISODES} episodes; "
        f"CPU, torch {torch.__version__}, {torch.get_num_threads()} threads, cores shared with "
        f"another job)",
        "",
        "| setting | sweep seconds | per run (s) | speedup vs no cache |",
        "|:--|--:|--:|--:|",
        f"| no cache (mean of {len(per_run)} measured runs x {len(configs)}) | {nocache:.0f} "
        f"| {statistics.mean(per_run):.2f} | 1.0x |",
        f"| cache, cold (extracts once) | {cold:.0f} | {cold / len(configs):.2f} "
        f"| {nocache / cold:.1f}x |",
        f"| cache, warm | {warm:.0f} | {warm / len(configs):.2f} | {nocache / warm:.1f}x |",
        "",
        f"Measured no-cache runs: {', '.join(f'{c.method} k={c.data.shots} episode {c.data.episode}: {t:.1f}s' for c, t in zip(picked, per_run, strict=True))}.",
        "",
        to_markdown(curve),
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
