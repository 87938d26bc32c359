"""Choose the shared learning rate for all methods, by source validation.

Every method on a pair is trained with one optimizer and budget. The learning
rate is chosen here for all methods alike: each candidate trains every method
of the default benchmark, and the one with the best mean held-out *source*
validation accuracy over methods and pairs wins (a run that diverges counts as
chance accuracy). No target label is read, and the baseline gets the same
tuning as the adapters. Target test numbers are deliberately not printed.

    .venv/bin/python benchmarks/tune_shared.py [--results DIR]

Writes benchmarks/output/tune_shared.md.
"""

from __future__ import annotations

import argparse
import itertools
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message="pkg_resources is deprecated")

import pandas as pd  # noqa: E402

from dabench import api  # noqa: E402
from dabench.config import build_config  # noqa: E402

# Batch size is fixed at 32 per domain by the compute budget (`make run` must
# finish in 10 minutes on 2 cores); the learning rate is what is tuned.
GRID = {"train.lr": [0.003, 0.01, 0.03, 0.1]}
METHODS = ["source_only", "dann", "coral"]
PAIRS = ["mnist2digits", "digits2mnist"]
SEEDS = [0]
CHANCE = 10.0
OUT = Path(__file__).parent / "output" / "tune_shared.md"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, default=Path("results/tuning"))
    args = ap.parse_args()
    args.results.mkdir(parents=True, exist_ok=True)
    rows = []
    keys = list(GRID)
    for values in itertools.product(*GRID.values()):
        overrides = dict(zip(keys, values, strict=True))
        for method in METHODS:
            for pair in PAIRS:
                for seed in SEEDS:
                    cfg = build_config(method, pair, seed, overrides=overrides)
                    rec, _ = api.run(cfg, args.results)
                    ok = rec["status"] == "ok"
                    acc = (
                        100 * rec["by_selection"]["source_val"]["source_val_acc"] if ok else CHANCE
                    )
                    rows.append(
                        {
                            **overrides,
                            "method": method,
                            "pair": pair,
                            "seed": seed,
                            "status": rec["status"],
                            "source_val_acc": acc,
                        }
                    )
                    print(rows[-1], flush=True)
    df = pd.DataFrame(rows)
    table = df.pivot_table(
        index=keys, columns=["method", "pair"], values="source_val_acc", aggfunc="mean"
    )
    table.columns = [f"{m} {p}" for m, p in table.columns]
    table["diverged"] = df.groupby(keys)["status"].apply(lambda s: int((s != "ok").sum()))
    table["mean"] = table.drop(columns="diverged").mean(axis=1)
    table = table.sort_values("mean", ascending=False)
    best = {keys[0]: float(table.index[0])}  # one tuned key
    text = (
        "# Shared learning rate, chosen for all methods by mean source validation accuracy (%)\n\n"
        f"Budget: steps from configs/defaults.yaml; seeds {SEEDS}; command: "
        "`.venv/bin/python benchmarks/tune_shared.py`\n\n"
        + table.reset_index().to_markdown(index=False, floatfmt="g")
        + f"\n\nChosen: {best}\n"
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
