"""Property tests over bad input: the CLI, the config loader and the suite
loader. Every user error exits 2 with exactly one line naming the problem, no
traceback, and nothing on disk changes; valid input may go on but never trains
here (runs are dry, training is stubbed).

The budget is ``DABENCH_FUZZ_EXAMPLES`` examples per test (default 60);
``benchmarks/tools/fuzz_count.sh`` runs them with a larger one and prints how
many inputs were tried.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from report_fixtures import fixture_records

from dabench.cli import main
from dabench.config import build_config, load_defaults, parse_set, settable_keys
from dabench.errors import UserError
from dabench.records import write_record
from dabench.sweep import SUITE_KEYS, load_suite, suite_configs

EXAMPLES = int(os.environ.get("DABENCH_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
TRIED: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def count_examples():
    """With DABENCH_FUZZ_COUNT_FILE set, append how many inputs each test tried."""
    yield
    out = os.environ.get("DABENCH_FUZZ_COUNT_FILE")
    if out:
        with open(out, "a") as f:
            for name, n in sorted(TRIED.items()):
                f.write(f"{name}\t{n}\n")


class WouldTrain(Exception):
    """Valid input got as far as training (stubbed out here)."""


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """A working directory, a results dir holding a record, an empty data root
    and feature cache; training and downloads stubbed."""
    from dabench import api
    from dabench.data import PAIRS, status

    monkeypatch.chdir(tmp_path)
    results = tmp_path / "results"
    for rec in fixture_records()[:2]:
        write_record(results, rec)
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("DABENCH_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("DABENCH_FEATURE_CACHE", str(tmp_path / "fcache"))

    def no_training(*a, **k):
        raise WouldTrain()

    def no_download(pair, ctx):
        PAIRS.get(pair)
        raise WouldTrain()

    monkeypatch.setattr(api, "_train_and_record", no_training)
    monkeypatch.setattr(status, "prepare", no_download)
    return tmp_path, results


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file's bytes and every folder (a created folder is a change too)."""
    return {
        str(p.relative_to(root)): p.read_bytes() if p.is_file() else b"<dir>"
        for p in sorted(root.rglob("*"))
    }


def check_cli(root: Path, args: list[str]) -> None:
    before = snapshot(root)
    r = CliRunner().invoke(main, args)
    if isinstance(r.exception, WouldTrain):
        return
    where = f"dabench {' '.join(map(repr, args))}\n{r.output}"
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        import traceback

        tb = "".join(traceback.format_exception(r.exception))
        raise AssertionError(f"{where}\nraised {tb}")
    assert "Traceback" not in r.output, where
    assert r.exit_code in (0, 2), where
    if r.exit_code == 2:
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), where
        assert len(lines[0]) > len("Error: ") + 5, where
        assert snapshot(root) == before, f"{where}\nchanged files on a user error"


# ---------------------------------------------------------------- strategies

METHODS = ["source_only", "dann", "coral", "mme", "fewshot_proto", "zeroshot", "corla"]
PAIRS = ["digits2mnist", "mnist2digits", "office31_a2w", "mnist2digts", "photos2sketches.yaml"]
NASTY = [
    "",
    " ",
    "-",
    "--",
    "-1",
    "0",
    "1",
    "2",
    "99999999999999999999999",
    "-99999999999999999999",
    "1e309",
    "nan",
    "inf",
    "-inf",
    "0.0",
    "true",
    "null",
    "[1, 2]",
    "{a: 1}",
    "..",
    "../x",
    "/",
    "/nonexistent/x",
    "\x00",
    "é",
    "名前",
    "\u202e",
    "a=b",
    "=",
    "x" * 300,
    "~",
    "$HOME",
]
garbage = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=12),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats().map(str),
)
SET_VALUES = st.one_of(garbage, st.sampled_from(["0.01", "5", "16", "cosine", "cpu", "lenet"]))
set_item = st.one_of(
    st.builds(
        lambda k, v: f"{k}={v}",
        st.sampled_from(settable_keys() + ["hparams.weight", "train.lrr"]),
        SET_VALUES,
    ),
    garbage,
)


def option_value(name: str):
    if name in ("method", "methods"):
        return st.one_of(st.sampled_from(METHODS), garbage)
    if name == "pair":
        return st.one_of(st.sampled_from(PAIRS), garbage)
    if name == "sets":
        return set_item
    if name in ("results", "data_root", "references", "out"):
        return st.one_of(st.sampled_from(["results", "nope", "results/runs", "-"]), garbage)
    if name == "selection":
        return st.one_of(st.sampled_from(["source_val", "oracle", "snd", "last"]), garbage)
    if name in ("suite", "file"):
        return st.one_of(st.sampled_from(["quick", "suite.yaml", "nope.yaml"]), garbage)
    if name == "device":
        return st.one_of(st.sampled_from(["cpu", "auto", "cuda", "cuda:7", "tpu"]), garbage)
    return st.one_of(st.sampled_from(["0", "1", "3", "md", "json", "acc", "f1"]), garbage)


def _leaves(group, path=()):
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            yield from _leaves(cmd, (*path, name))
        else:
            yield (*path, name), cmd


LEAVES = sorted(_leaves(main), key=lambda x: x[0])


@st.composite
def command_line(draw, path, cmd):
    args = list(path)
    for p in cmd.params:
        if isinstance(p, click.Argument):
            args.append(draw(option_value(p.name)))
            continue
        if p.name in ("help", "dry_run", "verbose", "quiet", "version") or not draw(st.booleans()):
            continue
        opt = draw(st.sampled_from(p.opts))
        if p.is_flag:
            args.append(opt)
        else:
            args += [opt, draw(option_value(p.name))]
    if draw(st.integers(0, 4)) == 0:  # a stray token or option
        args.insert(
            draw(st.integers(len(path), len(args))), draw(st.one_of(garbage, st.just("--nope")))
        )
    if any(p.name == "dry_run" for p in cmd.params):
        args.append("--dry-run")
    return args


@pytest.mark.parametrize("path,cmd", LEAVES, ids=[" ".join(p) for p, _ in LEAVES])
def test_fuzz_cli(sandbox, path, cmd):
    root, _ = sandbox
    (root / "suite.yaml").write_text(
        "name: s\nmethods: [source_only]\npairs: [digits2mnist]\nseeds: [0]\n"
    )

    @FUZZ
    @given(command_line(path, cmd))
    def prop(args):
        TRIED[f"cli {' '.join(path)}"] += 1
        check_cli(root, args)

    prop()


# ------------------------------------------------------------- config loader

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(),
    st.text(max_size=10),
)
yaml_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def one_line_user_error(fn):
    try:
        return fn()
    except UserError as e:
        msg = str(e)
        assert msg.strip(), "empty UserError"
        return None


@FUZZ
@given(
    st.dictionaries(
        st.one_of(
            st.sampled_from(settable_keys() + ["hparams.weight", "hparams.nope", "train", "x.y.z"]),
            st.text(max_size=8),
        ),
        st.one_of(yaml_values, SET_VALUES),
        max_size=4,
    ),
    st.sampled_from(METHODS[:5]),
)
def test_fuzz_config_overrides(overrides, method):
    TRIED["config --set"] += 1
    cfg = one_line_user_error(lambda: build_config(method, "digits2mnist", 0, overrides=overrides))
    if cfg is not None:
        json.dumps(cfg.to_dict(), default=str)  # a valid config is plain data


@FUZZ
@given(st.lists(st.text(max_size=20), max_size=4))
def test_fuzz_parse_set(items):
    TRIED["config parse_set"] += 1
    out = one_line_user_error(lambda: parse_set(items))
    if out is not None:
        assert all(isinstance(k, str) and k for k in out)


@FUZZ
@given(st.one_of(yaml_values.map(lambda v: yaml.safe_dump(v)), st.text(max_size=60)))
def test_fuzz_defaults_yaml(tmp_path_factory, text):
    TRIED["config defaults.yaml"] += 1
    d = tmp_path_factory.mktemp("cfg")
    (d / "defaults.yaml").write_text(text)
    one_line_user_error(lambda: load_defaults(d))
    one_line_user_error(lambda: build_config("coral", "digits2mnist", 0, config_dir=d))


# -------------------------------------------------------------- suite loader

suite_docs = st.dictionaries(
    st.one_of(st.sampled_from(sorted(SUITE_KEYS)), st.text(max_size=6)),
    st.one_of(
        yaml_values,
        st.lists(st.sampled_from(METHODS + PAIRS), max_size=3),
        st.lists(st.integers(min_value=-3, max_value=10**20), max_size=3),
        st.integers(min_value=-3, max_value=10**20),
        st.just({"train": {"steps": 5}}),
        st.just({"coral": {"hparams": {"weight": 2}}}),
        st.just({"seeds": [0], "selection": "oracle"}),
    ),
    max_size=8,
)


VALID_SUITE = {"name": "s", "methods": ["source_only"], "pairs": ["digits2mnist"], "seeds": [0]}
# A valid suite with some keys replaced: reaches the checks that come late.
mutated_suites = suite_docs.map(lambda d: {**VALID_SUITE, **d})


@FUZZ
@given(
    st.one_of(
        mutated_suites.map(yaml.safe_dump),
        suite_docs.map(yaml.safe_dump),
        st.text(max_size=80),
        yaml_values.map(yaml.safe_dump),
    )
)
def test_fuzz_suite_loader(sandbox, text):
    TRIED["suite loader"] += 1
    root, results = sandbox
    path = root / "fuzz.yaml"
    path.write_text(text)
    suite = one_line_user_error(lambda: load_suite(path))
    if suite is not None:
        one_line_user_error(lambda: suite_configs(suite))
    check_cli(root, ["sweep", str(path), "--results", str(results), "--dry-run"])


@pytest.mark.parametrize(
    "args",
    [
        # Found with 500 examples per property: '~user' for a user that does
        # not exist raised from pathlib, and a curve of non-few-shot methods
        # made its results folder before rejecting them.
        ["data", "status", "--data-root", "~0"],
        ["curve", "-m", "source_only", "--pair", "mnist2digits", "--results", "-1227"],
    ],
)
def test_fuzz_findings_stay_fixed(sandbox, args):
    root, _ = sandbox
    check_cli(root, args)
