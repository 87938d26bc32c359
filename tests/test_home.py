"""Where configs and suites are read from: DABENCH_HOME > ./configs, ./benchmarks > built-ins."""

from __future__ import annotations

import pytest

from dabench.config import build_config, load_defaults
from dabench.errors import UserError
from dabench.home import builtin_dir, find_file, list_files, require_file
from dabench.sweep import find_suite


def _suite(folder, name, steps):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.yaml").write_text(
        f"methods: [source_only]\npairs: [mnist2digits]\nseeds: [0]\nset: {{train: {{steps: {steps}}}}}\n"
    )
    return folder / f"{name}.yaml"


def test_precedence_home_over_working_directory_over_built_ins(tmp_path, monkeypatch):
    work, home = tmp_path / "work", tmp_path / "home"
    monkeypatch.chdir(tmp_path)
    work.mkdir()
    monkeypatch.chdir(work)
    builtin_quick = builtin_dir("benchmarks") / "quick.yaml"
    assert find_suite("quick") == builtin_quick

    # The working directory's file overrides the built-in of the same name and adds its own.
    mine_quick = _suite(work / "benchmarks", "quick", 11)
    mine_new = _suite(work / "benchmarks", "mine", 12)
    assert find_suite("quick") == mine_quick and find_suite("mine") == mine_new
    assert list_files("benchmarks")["quick"] == mine_quick
    assert "search_digits" in list_files("benchmarks")  # built-ins still listed

    # DABENCH_HOME beats both.
    home_quick = _suite(home / "benchmarks", "quick", 13)
    monkeypatch.setenv("DABENCH_HOME", str(home))
    assert find_suite("quick") == home_quick and find_suite("mine") == mine_new
    monkeypatch.setenv("DABENCH_HOME", str(tmp_path / "nope"))
    with pytest.raises(UserError, match="DABENCH_HOME=.*nope is not a directory"):
        find_suite("quick")


def test_defaults_come_from_the_highest_layer_and_a_missing_file_is_an_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert require_file("configs", "defaults.yaml") == builtin_dir("configs") / "defaults.yaml"
    assert load_defaults()["train.steps"] == 2000
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "defaults.yaml").write_text("train: {steps: 300, eval_every: 100}\n")
    assert build_config("source_only", "mnist2digits").train.steps == 300
    # An explicit folder without defaults.yaml never falls back to the dataclass budget.
    with pytest.raises(UserError, match="file not found: .*defaults.yaml"):
        build_config("source_only", "mnist2digits", config_dir=tmp_path / "empty")
    assert find_file("configs", "no/such.yaml") is None
    with pytest.raises(UserError, match="configs/no/such.yaml not found"):
        require_file("configs", "no/such.yaml")


def test_user_class_maps_and_references_add_to_the_built_ins(tmp_path, monkeypatch):
    from dabench.data.class_maps import available_class_maps
    from dabench.report.references import load_references

    monkeypatch.chdir(tmp_path)
    n_refs = len(load_references())
    (tmp_path / "configs" / "class_maps").mkdir(parents=True)
    (tmp_path / "configs" / "class_maps" / "mine.yaml").write_text("x: 1\n")
    assert {"mine", "imagenet2cifar"} <= set(available_class_maps())
    (tmp_path / "configs" / "references").mkdir()
    (tmp_path / "configs" / "references" / "mine.yaml").write_text(
        "references:\n- {paper: x, method: dann, pair: A->B, dabench_pair: mnist2digits,\n"
        "   backbone: lenet, selection: oracle, value: 50.0}\n"
    )
    assert len(load_references()) == n_refs + 1
