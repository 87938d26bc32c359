"""The built wheel works with no checkout in sight: configs and suites are package data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

# The checkout these tests live in.
SOURCE_ROOT = Path(__file__).resolve().parents[1]
# What a build reads: the package, its mapped data folders and the metadata.
BUILD_INPUTS = ("dabench", "configs", "benchmarks", "pyproject.toml", "setup.py", "README.md")


def _sh(args, cwd, env, timeout=300):
    r = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{args}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r.stdout


@pytest.mark.slow
def test_the_wheel_runs_from_another_directory(tmp_path):
    if not (SOURCE_ROOT / "setup.py").is_file():
        pytest.skip("needs the source checkout to build from")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DABENCH_HOME")}
    env["OMP_NUM_THREADS"] = "1"
    # Build from a copy, so the checkout gets no build/ folder.
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "output", "tools", "*.egg-info")
    for name in BUILD_INPUTS:
        p = SOURCE_ROOT / name
        if p.is_dir():
            shutil.copytree(p, src / name, ignore=ignore)
        else:
            shutil.copy2(p, src / name)
    pip = [sys.executable, "-m", "pip"]
    _sh(
        [*pip, "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", "dist", str(src)],
        tmp_path,
        env,
    )
    (wheel,) = (tmp_path / "dist").glob("dabench-*.whl")

    # A fresh venv; its dependencies come from this one through a .pth file.
    # This venv's own dabench (the editable checkout) is not visible there: .pth
    # files in a folder that a .pth file adds are not read.
    venv = tmp_path / "venv"
    _sh([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path, env)
    py = venv / "bin" / "python"
    site = Path(
        _sh(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], tmp_path, env
        ).strip()
    )
    (site / "_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    _sh([*pip, "--python", str(py), "install", "-q", "--no-deps", str(wheel)], tmp_path, env)

    work = tmp_path / "elsewhere"
    work.mkdir()
    where = _sh([str(py), "-c", "import dabench; print(dabench.__file__)"], work, env).strip()
    assert Path(where).is_relative_to(venv), where
    dabench = [str(venv / "bin" / "dabench")]
    out = _sh([*dabench, "list", "pairs", "--json"], work, env)
    assert {"mnist2digits", "office31_a2w"} <= {p["name"] for p in json.loads(out)}

    res = tmp_path / "results"
    out = _sh(
        [*dabench, "run", "--method", "source_only", "--pair", "mnist2digits", "--steps", "20"]
        + ["--set", "train.eval_every=10", "--results", str(res)]
        + ["--json"],
        work,
        env,
    )
    rec = json.loads(out)["record"]
    assert rec["status"] == "ok" and rec["config"]["train"]["steps"] == 20
    assert rec["config"]["train"]["batch_size"] == 32  # the packaged defaults.yaml's, not 64
    assert rec["provenance"].get("git_sha") is None  # a wheel has no checkout to ask

    out = _sh([*dabench, "bench", "quick", "--dry-run", "--results", str(res)], work, env)
    runs = [ln for ln in out.splitlines() if ln.startswith(("run\t", "search\t"))]
    assert len(runs) == 18 and all("\tpending\t" in ln for ln in runs), out
    assert not list(work.iterdir()), "nothing written into the working directory"

    # A third-party method from an installed package (entry point dabench.methods).
    plug = tmp_path / "plugin"
    (plug / "dabench_toy").mkdir(parents=True)
    (plug / "pyproject.toml").write_text(PLUGIN_PYPROJECT)
    (plug / "dabench_toy" / "__init__.py").write_text(PLUGIN_MODULE)
    _sh(
        [
            *pip,
            "--python",
            str(py),
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            str(plug),
        ],
        tmp_path,
        env,
    )
    out = _sh([*dabench, "list", "methods", "--json"], work, env)
    rows = {m["name"]: m for m in json.loads(out)}
    assert rows["toy_plugin"]["origin"] == "dabench-toy" and rows["dann"]["origin"] == "built-in"
    out = _sh(
        [*dabench, "run", "--method", "toy_plugin", "--pair", "mnist2digits", "--steps", "10"]
        + ["--set", "train.eval_every=5", "--results", str(res), "--json"],
        work,
        env,
    )
    rec = json.loads(out)["record"]
    assert rec["status"] == "ok" and rec["method"] == "toy_plugin"


PLUGIN_PYPROJECT = """
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "dabench-toy"
version = "0.1"

[project.entry-points."dabench.methods"]
toy_plugin = "dabench_toy"
"""

PLUGIN_MODULE = '''"""A toy third-party method: source cross-entropy, registered by import."""

import torch.nn.functional as F

from dabench.methods import Method, register


@register
class ToyPlugin(Method):
    name = "toy_plugin"
    description = "plugin test: source cross-entropy"
    paper = "none (test plugin)"
    family = "baseline"

    def loss(self, src, tgt, step):
        return F.cross_entropy(self(src.x)[1], src.y), {}
'''
