"""Third-party methods register through entry points; a broken one is a warning."""

from __future__ import annotations

import importlib
import json
import sys
import textwrap

import pytest
from click.testing import CliRunner

from dabench import plugins
from dabench.cli import main
from dabench.methods import METHODS

PLUGIN = '''
"""A plugin method: source-only training under another name."""
import torch.nn.functional as F

from dabench.methods import Method, TargetAccess, register


@register
class PlugMethod(Method):
    name = "plug_method"
    description = "source-only training shipped by a plugin"
    paper = "a plugin, 2026"
    family = "baseline"
    target_access = TargetAccess.NONE

    def loss(self, src, tgt, step):
        ce = F.cross_entropy(self(src.x)[1], src.y)
        return ce, {"cls": float(ce.detach())}
'''


def install(tmp_path, dist: str, entries: dict[str, str], modules: dict[str, str]) -> None:
    """A distribution as an installer leaves it: modules plus a .dist-info with
    its entry points, on a folder put on sys.path."""
    info = tmp_path / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "".join(f"[{group}]\n{line}\n" for group, line in entries.items())
    )
    for name, src in modules.items():
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(src))


@pytest.fixture
def plugin_env(tmp_path, monkeypatch):
    """Registries and the loaded-plugin set restored afterwards."""
    saved = (dict(METHODS._items), dict(METHODS._origins), set(plugins._loaded))
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    yield tmp_path
    METHODS._items.clear()
    METHODS._items.update(saved[0])
    METHODS._origins.clear()
    METHODS._origins.update(saved[1])
    plugins._loaded.clear()
    plugins._loaded.update(saved[2])
    for mod in ("dabench_plug", "dabench_broken"):
        sys.modules.pop(mod, None)


def test_plugin_method_runs_and_is_listed_with_its_origin(plugin_env, results_dir):
    install(
        plugin_env,
        "dabench-plug",
        {"dabench.methods": "plug_method = dabench_plug"},
        {"dabench_plug": PLUGIN},
    )
    r = CliRunner().invoke(
        main,
        [
            "run", "--method", "plug_method", "--pair", "mnist2digits",
            "--results", str(results_dir), "--steps", "4",
            "--set", "train.eval_every=2", "--set", "train.batch_size=8",
        ],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "plug_method on mnist2digits" in r.output and "target acc" in r.output
    (rec,) = [json.loads(p.read_text()) for p in (results_dir / "runs").glob("*.json")]
    assert rec["method"] == "plug_method" and rec["status"] == "ok"
    r = CliRunner().invoke(main, ["list", "methods", "--json"])
    rows = {row["name"]: row for row in json.loads(r.stdout)}
    assert rows["plug_method"]["origin"] == "dabench-plug"
    assert rows["source_only"]["origin"] == "built-in"


def test_broken_plugin_is_one_warning_not_a_crash(plugin_env, caplog):
    install(
        plugin_env,
        "dabench-broken",
        {"dabench.methods": "broken = dabench_broken"},
        {"dabench_broken": "raise ImportError('needs a package that is not installed')\n"},
    )
    r = CliRunner().invoke(main, ["list", "methods", "--json"])
    assert r.exit_code == 0, r.output
    warnings = [rec.getMessage() for rec in caplog.records if rec.name == "dabench.plugins"]
    assert len(warnings) == 1
    (msg,) = warnings
    assert "broken" in msg and "dabench-broken" in msg and "not installed" in msg
    assert "\n" not in msg
    assert "source_only" in {row["name"] for row in json.loads(r.stdout)}


def test_plugin_with_a_taken_name_is_skipped_with_a_warning(plugin_env, caplog):
    install(
        plugin_env,
        "dabench-dup",
        {"dabench.methods": "dup = dabench_dup"},
        {"dabench_dup": PLUGIN.replace('"plug_method"', '"source_only"')},
    )
    assert plugins.load_plugins(("dabench.methods",)) == ["dabench.methods:dup"]
    assert "duplicate method name 'source_only'" in caplog.text
    assert METHODS.origin("source_only") == "built-in"
    sys.modules.pop("dabench_dup", None)
