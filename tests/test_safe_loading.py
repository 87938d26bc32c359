"""Safe loading: no pickle through torch.load, no code through YAML, and no
name from a user file or the command line can reach outside the results or
cache directories."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from dabench.cli import main
from dabench.errors import UserError
from dabench.names import check_name, child
from dabench.records import record_path
from dabench.runlock import lock_path

PKG = Path(__file__).resolve().parents[1] / "dabench"


def _calls(attr_owner: str, attr: str):
    for path in sorted(PKG.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            f = getattr(node, "func", None)
            if (
                isinstance(node, ast.Call)
                and isinstance(f, ast.Attribute)
                and f.attr == attr
                and isinstance(f.value, ast.Name)
                and f.value.id == attr_owner
            ):
                yield path, node


def test_every_torch_load_is_weights_only():
    found = list(_calls("torch", "load"))
    assert found, "the audit found no torch.load at all: it is looking in the wrong place"
    for path, node in found:
        kw = {k.arg: k.value for k in node.keywords}
        ok = isinstance(kw.get("weights_only"), ast.Constant) and kw["weights_only"].value is True
        assert ok, f"{path}:{node.lineno}: torch.load without weights_only=True"


def test_every_yaml_read_is_safe():
    for name in ("unsafe_load", "full_load", "load_all", "unsafe_load_all", "full_load_all"):
        assert not list(_calls("yaml", name)), f"yaml.{name} is used"
    for path, node in _calls("yaml", "load"):
        kw = {k.arg: k.value for k in node.keywords}
        loader = kw.get("Loader")
        assert isinstance(loader, ast.Name), f"{path}:{node.lineno}: yaml.load without a Loader"
        mod = ".".join(path.relative_to(PKG.parent).with_suffix("").parts)
        cls = getattr(importlib.import_module(mod), loader.id)
        assert issubclass(cls, yaml.SafeLoader), f"{path}:{node.lineno}: {loader.id} is not safe"


def test_a_suite_with_python_tags_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    suite = tmp_path / "s.yaml"
    suite.write_text(
        f"name: x\nmethods: !!python/object/apply:os.system ['touch {marker}']\n"
        "pairs: [digits2mnist]\nseeds: [0]\n"
    )
    r = CliRunner().invoke(main, ["sweep", str(suite), "--results", str(tmp_path / "res")])
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output
    assert "not valid YAML" in r.output and not marker.exists()


BAD = [
    "",
    "..",
    "../x",
    "a/../../b",
    "/etc/passwd",
    "a/b",
    "a\\b",
    "x\x00y",
    ".hidden",
    "a\nb",
    "x" * 300,
]


@pytest.mark.parametrize("name", BAD)
def test_unsafe_names_are_one_user_error(name, tmp_path):
    with pytest.raises(UserError) as e:
        check_name(name, "suite name")
    assert "suite name" in str(e.value) and "\n" not in str(e.value)
    for make in (record_path, lock_path):
        with pytest.raises(UserError):
            make(tmp_path, name)


@pytest.mark.parametrize(
    "name", ["quick", "mnist2digits", "coral__digits2mnist__s0__abc123", "v1.2", "naïve"]
)
def test_ordinary_names_pass(name, tmp_path):
    assert check_name(name, "name") == name
    assert child(tmp_path, name, "name", ".json").parent == tmp_path


@pytest.mark.parametrize(
    "ref", ["../../etc/passwd", "../quick", "/etc/passwd", "nope.yaml", "a\x00b"]
)
def test_suite_names_cannot_leave_the_benchmarks_folder(ref, tmp_path):
    for cmd in (["bench", ref, "--dry-run"], ["report", "--suite", ref]):
        r = CliRunner().invoke(main, [*cmd, "--results", str(tmp_path)])
        assert r.exit_code == 2, r.output
        assert len(r.output.strip().splitlines()) == 1 and "Traceback" not in r.output


@pytest.mark.parametrize("name", ["../../evil", "/tmp/evil", "a/b", 12])
def test_a_suite_name_that_would_become_a_path_is_refused(name, tmp_path):
    suite = tmp_path / "s.yaml"
    suite.write_text(f"name: {name}\nmethods: [source_only]\npairs: [digits2mnist]\nseeds: [0]\n")
    results = tmp_path / "res"
    results.mkdir()
    r = CliRunner().invoke(main, ["report", "--suite", str(suite), "--results", str(results)])
    assert r.exit_code == 2 and "name" in r.output, r.output
    assert list(results.iterdir()) == [] and not (tmp_path / "evil").exists()
