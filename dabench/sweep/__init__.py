"""Benchmark suites: a YAML grid of methods x pairs x seeds plus shared overrides.

Schema (unknown keys are an error)::

    name: quick
    description: what the suite measures
    methods: [source_only, dann, coral]
    pairs: [mnist2digits, digits2mnist]
    seeds: [0, 1, 2]
    set:                      # optional config overrides for every run
      train: {steps: 2000}

Every config of a suite is built and validated before the first run, so a
typo fails fast instead of after an hour of training.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from dabench.config import RunConfig, build_config, load_yaml
from dabench.errors import UserError

BENCH_DIR = Path(__file__).resolve().parents[2] / "benchmarks"

SUITE_KEYS = {"name", "description", "methods", "pairs", "seeds", "set"}


@dataclasses.dataclass
class Suite:
    name: str
    description: str
    methods: list[str]
    pairs: list[str]
    seeds: list[int]
    overrides: dict[str, Any]


def find_suite(name_or_path: str) -> Path:
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") and p.exists():
        return p
    cand = BENCH_DIR / f"{name_or_path}.yaml"
    if cand.exists():
        return cand
    known = sorted(q.stem for q in BENCH_DIR.glob("*.yaml")) if BENCH_DIR.is_dir() else []
    raise UserError(
        f"no benchmark suite {name_or_path!r}; known suites: {', '.join(known) or 'none'} (or give a path to a YAML file)"
    )


def load_suite(path: Path) -> Suite:
    data = load_yaml(path)
    unknown = sorted(set(data) - SUITE_KEYS)
    if unknown:
        raise UserError(
            f"{path}: unknown key {unknown[0]!r}; allowed keys: {', '.join(sorted(SUITE_KEYS))}"
        )
    for key in ("methods", "pairs", "seeds"):
        if not isinstance(data.get(key), list) or not data[key]:
            raise UserError(f"{path}: {key!r} must be a non-empty list")
    if not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in data["seeds"]):
        raise UserError(f"{path}: seeds must be non-negative integers")
    overrides = data.get("set") or {}
    if not isinstance(overrides, dict):
        raise UserError(f"{path}: 'set' must be a mapping of config keys to values")
    return Suite(
        name=str(data.get("name", path.stem)),
        description=str(data.get("description", "")),
        methods=[str(m) for m in data["methods"]],
        pairs=[str(p) for p in data["pairs"]],
        seeds=list(data["seeds"]),
        overrides=overrides,
    )


def suite_configs(suite: Suite, overrides: dict[str, Any] | None = None) -> list[RunConfig]:
    """Every config of the suite, validated up front so a typo fails before any run."""
    return [
        build_config(m, p, s, overrides=overrides, suite_overrides=suite.overrides)
        for p in suite.pairs
        for m in suite.methods
        for s in suite.seeds
    ]
