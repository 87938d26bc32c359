"""Benchmark suites: a YAML grid of methods x pairs x trials x seeds.

Schema (unknown keys are an error)::

    name: quick
    description: what the suite measures
    methods: [source_only, dann, coral]
    pairs: [mnist2digits, digits2mnist]
    hparams_seeds: 8          # trials 0..7 (0 = defaults), or a list [0, 3, 5]
    seeds: [0, 1, 2]
    set:                      # optional config overrides for every run
      train: {steps: 2000}
    set_for:                  # optional overrides for one method or method@pair
      dann: {train: {lr: 0.005}}
      coral@mnist2digits: {hparams: {weight: 2.0}}
    final:                    # optional second stage, DomainBed-style:
      seeds: [0, 1, 2]        # rerun each cell's selected trial with these seeds
      selection: source_val   # the rule that selects it (never a target-label
                              # rule unless you mean to report an oracle)

Each (method, pair, hparams_seed, seed) is one run with its own key; every
method on a pair gets the same trials, which is the fairness rule. Every config
of a suite is built and validated before the first run, so a typo fails fast
instead of after an hour of training.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from dabench.config import RunConfig, build_config, load_yaml
from dabench.errors import UserError
from dabench.home import find_file, list_files
from dabench.names import check_name

SUITE_KEYS = {
    "name",
    "description",
    "methods",
    "pairs",
    "seeds",
    "hparams_seeds",
    "set",
    "set_for",
    "final",
}
FINAL_KEYS = {"seeds", "selection"}
# A count of trials beyond this is a typo, not a search (and would not fit in memory).
MAX_TRIALS = 10_000


@dataclasses.dataclass
class Suite:
    name: str
    description: str
    methods: list[str]
    pairs: list[str]
    seeds: list[int]
    overrides: dict[str, Any]
    hparams_seeds: list[int] = dataclasses.field(default_factory=lambda: [0])
    set_for: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    final_seeds: list[int] = dataclasses.field(default_factory=list)
    final_selection: str = "source_val"


def find_suite(name_or_path: str) -> Path:
    """A suite file: an existing ``.yaml`` path as given, else a name looked up
    in ``benchmarks/`` (a name, not a path: it cannot leave that folder)."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") and p.is_file():
        return p
    if p.suffix in (".yaml", ".yml") or "/" in name_or_path:
        raise UserError(f"suite file {name_or_path} does not exist")
    check_name(name_or_path, "suite name")
    cand = find_file("benchmarks", f"{name_or_path}.yaml")
    if cand is not None:
        return cand
    known = list(list_files("benchmarks"))
    raise UserError(
        f"no benchmark suite {name_or_path!r}; known suites: {', '.join(known) or 'none'} (or give a path to a YAML file)"
    )


def _int_list(path: Path, key: str, value: Any) -> list[int]:
    if not isinstance(value, list) or not value:
        raise UserError(f"{path}: {key!r} must be a non-empty list of non-negative integers")
    if not all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s < 2**32 for s in value):
        raise UserError(f"{path}: {key} must be integers from 0 to {2**32 - 1}")
    if len(set(value)) != len(value):
        raise UserError(f"{path}: {key} lists a value twice")
    return list(value)


def load_suite(path: Path) -> Suite:
    data = load_yaml(path)
    unknown = sorted(set(data) - SUITE_KEYS)
    if unknown:
        raise UserError(
            f"{path}: unknown key {unknown[0]!r}; allowed keys: {', '.join(sorted(SUITE_KEYS))}"
        )
    for key in ("methods", "pairs"):
        if not isinstance(data.get(key), list) or not data[key]:
            raise UserError(f"{path}: {key!r} must be a non-empty list")
    seeds = _int_list(path, "seeds", data.get("seeds"))
    hs = data.get("hparams_seeds", [0])
    if isinstance(hs, int) and not isinstance(hs, bool):
        if not 1 <= hs <= MAX_TRIALS:
            raise UserError(
                f"{path}: hparams_seeds must be a count >= 1 (at most {MAX_TRIALS}) or a list of trials"
            )
        hs = list(range(hs))
    hs = _int_list(path, "hparams_seeds", hs)
    overrides = data.get("set") or {}
    if not isinstance(overrides, dict):
        raise UserError(f"{path}: 'set' must be a mapping of config keys to values")
    set_for = data.get("set_for") or {}
    if not isinstance(set_for, dict) or not all(isinstance(v, dict) for v in set_for.values()):
        raise UserError(f"{path}: 'set_for' must map a method or method@pair to config overrides")
    methods = [str(m) for m in data["methods"]]
    pairs = [str(p) for p in data["pairs"]]
    for key in set_for:
        m, _, p = str(key).partition("@")
        if m not in methods or (p and p not in pairs):
            raise UserError(
                f"{path}: set_for key {key!r} names no method (or method@pair) of this suite"
            )
    final = data.get("final") or {}
    if not isinstance(final, dict) or set(final) - FINAL_KEYS:
        raise UserError(f"{path}: 'final' takes only {', '.join(sorted(FINAL_KEYS))}")
    final_seeds = _int_list(path, "final.seeds", final["seeds"]) if "seeds" in final else []
    final_sel = str(final.get("selection", "source_val"))
    if final:
        from dabench.selection import SELECTORS

        if SELECTORS.get(final_sel).uses_target_labels:
            raise UserError(
                f"{path}: final.selection {final_sel!r} reads target labels; "
                "select trials by source_val or an unsupervised validator"
            )
    name = data.get("name", path.stem)
    if not isinstance(name, str):
        raise UserError(f"{path}: 'name' must be a string, got {name!r}")
    try:
        check_name(name, "suite name")
    except UserError as e:
        raise UserError(f"{path}: {e}") from None
    return Suite(
        name=name,
        description=str(data.get("description", "")),
        methods=methods,
        pairs=pairs,
        seeds=seeds,
        overrides=overrides,
        hparams_seeds=hs,
        set_for={str(k): v for k, v in set_for.items()},
        final_seeds=final_seeds,
        final_selection=final_sel,
    )


def _merged_overrides(suite: Suite, method: str, pair: str) -> dict[str, Any]:
    from dabench.config import flatten

    out = flatten(suite.overrides)
    out.update(flatten(suite.set_for.get(method, {})))
    out.update(flatten(suite.set_for.get(f"{method}@{pair}", {})))
    return out


def _config(
    suite: Suite, m: str, p: str, k: int, s: int, overrides: dict[str, Any] | None
) -> RunConfig:
    return build_config(
        m,
        p,
        s,
        overrides=overrides,
        suite_overrides=_merged_overrides(suite, m, p),
        hparams_seed=k,
    )


def suite_configs(suite: Suite, overrides: dict[str, Any] | None = None) -> list[RunConfig]:
    """Every config of the suite's first stage (all trials x seeds), validated
    up front so a typo fails before any run."""
    return [
        _config(suite, m, p, k, s, overrides)
        for p in suite.pairs
        for m in suite.methods
        for k in suite.hparams_seeds
        for s in suite.seeds
    ]


def final_configs(
    suite: Suite,
    results: Path,
    overrides: dict[str, Any] | None = None,
    records: list | None = None,
) -> list[RunConfig]:
    """The second stage: each (method, pair)'s trial selected by
    ``final.selection`` on the first stage's records, with ``final.seeds``.
    Cells whose first stage has no results yet are left out."""
    if not suite.final_seeds:
        return []
    from dabench.api import run_id_for
    from dabench.records import load_records
    from dabench.report.trials import group_trials, select_trial

    stage1 = suite_configs(suite, overrides)
    ids = {run_id_for(c)[0] for c in stage1}
    if records is None:
        records = load_records(results)
    records = [r for r in records if r.run_id in ids]
    out = []
    for (m, p, _setup), trials in group_trials(records).items():
        if not any(t.scored() for t in trials):
            continue
        best = select_trial(trials, suite.final_selection)
        out += [_config(suite, m, p, best.hparams_seed, s, overrides) for s in suite.final_seeds]
    return out


def suite_run_ids(
    suite: Suite,
    results: Path,
    overrides: dict[str, Any] | None = None,
    records: list | None = None,
) -> set[str]:
    """Run keys of every run the suite has asked for (both stages)."""
    from dabench.api import run_id_for

    cfgs = suite_configs(suite, overrides) + final_configs(suite, results, overrides, records)
    return {run_id_for(c)[0] for c in cfgs}
