"""Write benchmarks/quick.yaml from a search: each method x pair of the quick
suite gets the trial the search selected by source validation.

    .venv/bin/python benchmarks/tools/quick_from_search.py \
        --search benchmarks/search_digits.yaml --results results > benchmarks/quick.yaml

The quick suite then reruns exactly those configurations (same run keys, so a
results directory holding the search reuses them).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from dabench.records import load_records
from dabench.report.trials import group_trials, select_trial
from dabench.sweep import find_suite, load_suite, suite_run_ids

QUICK = {
    "name": "quick",
    "description": "source_only, dann, coral x mnist2digits, digits2mnist x 3 seeds, "
    "hyperparameters selected by benchmarks/search_digits.yaml (offline, CPU)",
    "methods": ["source_only", "dann", "coral"],
    "pairs": ["mnist2digits", "digits2mnist"],
    "seeds": [0, 1, 2],
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--search", default="benchmarks/search_digits.yaml")
    ap.add_argument("--results", type=Path, default=Path("results"))
    ap.add_argument("--selection", default="source_val")
    args = ap.parse_args()
    search = load_suite(find_suite(args.search))
    ids = suite_run_ids(search, args.results)
    records = [r for r in load_records(args.results) if r.run_id in ids]
    set_for: dict[str, dict] = {}
    for (m, p, _setup), trials in sorted(group_trials(records).items()):
        if m not in QUICK["methods"] or p not in QUICK["pairs"]:
            continue
        best = select_trial(trials, args.selection)
        train = {k.split(".", 1)[1]: v for k, v in best.params.items() if k.startswith("train.")}
        hp = {k.split(".", 1)[1]: v for k, v in best.params.items() if k.startswith("hparams.")}
        entry: dict = {"train": train}
        if hp:
            entry["hparams"] = hp
        set_for[f"{m}@{p}"] = entry
        set_for[f"{m}@{p}"]["_trial"] = best.hparams_seed
    missing = [
        f"{m}@{p}" for m in QUICK["methods"] for p in QUICK["pairs"] if f"{m}@{p}" not in set_for
    ]
    if missing:
        raise SystemExit(f"the search has no results yet for: {', '.join(missing)}")
    trials = {k: v.pop("_trial") for k, v in set_for.items()}
    print(
        "# The default benchmark (`make run`): the three foundation methods on both\n"
        "# offline digit pairs, 3 seeds each, under configs/defaults.yaml's budget.\n"
        f"# Hyperparameters: the trials that {search.name} ({args.search}) selected\n"
        f"# by {args.selection} for each method x pair, written by\n"
        "# benchmarks/tools/quick_from_search.py (do not edit by hand). Trials:\n"
        + "".join(f"#   {k}: trial {v}\n" for k, v in trials.items())
        + "# Same run keys as the search's final stage: a results directory holding\n"
        "# the search reuses them.\n"
        + yaml.safe_dump({**QUICK, "set_for": set_for}, sort_keys=False, width=100)
    )


if __name__ == "__main__":
    main()
