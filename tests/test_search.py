"""Search spaces and seeded trials: trial k is the same trial on every machine."""

from __future__ import annotations

import pytest

from dabench import api
from dabench.config import TRAIN_SEARCH, build_config, config_hash, search_space
from dabench.methods import METHODS
from dabench.report.trials import SEARCHED_TRAIN_KEYS
from dabench.search import Choice, LogUniform, Uniform, draw_trial, trial_rng


def test_trial_draws_are_pinned_across_machines():
    # SHA-256 of "k|method|name" seeds numpy's PCG64: no salted hash, no global
    # RNG state. These values were drawn once and must never change, or every
    # recorded search would silently stop matching its suite.
    assert draw_trial(3, "dann", {"train.lr": LogUniform(1e-3, 1e-1)}) == {"train.lr": 0.04818}
    assert trial_rng(1, "coral", "hparams.weight").integers(1 << 30) == trial_rng(
        1, "coral", "hparams.weight"
    ).integers(1 << 30)


def test_trial_zero_is_the_defaults_and_draws_stay_in_range():
    space = {"a": LogUniform(1e-4, 1e-1), "b": Uniform(0.0, 1.0), "c": Choice((1, 2, 3))}
    assert draw_trial(0, "m", space) == {}
    for k in range(1, 40):
        d = draw_trial(k, "m", space)
        assert all(space[n].contains(v) for n, v in d.items())
    assert len({draw_trial(k, "m", space)["a"] for k in range(1, 40)}) > 30


def test_adding_a_hyperparameter_never_shifts_the_others():
    small = {"lr": LogUniform(1e-3, 1e-1)}
    big = {"extra": Uniform(0.0, 1.0), **small, "more": Choice(("x", "y"))}
    for k in range(1, 10):
        assert draw_trial(k, "dann", big)["lr"] == draw_trial(k, "dann", small)["lr"]


def test_each_method_draws_its_own_values():
    space = {"train.lr": LogUniform(1e-3, 1e-1)}
    assert draw_trial(1, "dann", space) != draw_trial(1, "coral", space)


def test_bad_distributions_and_defaults_outside_their_range_are_rejected():
    from dabench.methods import HParam

    with pytest.raises(ValueError):
        LogUniform(0.0, 1.0)
    with pytest.raises(ValueError):
        HParam(50.0, "x", search=LogUniform(0.1, 10.0))


def test_build_config_applies_the_trial_and_set_wins():
    c0 = build_config("dann", "mnist2digits")
    assert c0.hparams_seed == 0 and c0.train.lr == 0.01, "trial 0: DANN's own default lr"
    assert c0.hparams["weight"] == 1.0
    c5 = build_config("dann", "mnist2digits", hparams_seed=5)
    drawn = draw_trial(5, "dann", search_space(METHODS.get("dann")))
    assert c5.train.lr == drawn["train.lr"] and c5.hparams["weight"] == drawn["hparams.weight"]
    assert c5.hparams["gamma"] == 10.0, "unsearched values keep their defaults"
    pinned = build_config("dann", "mnist2digits", hparams_seed=5, overrides={"train.lr": 0.002})
    assert pinned.train.lr == 0.002 and pinned.hparams["weight"] == c5.hparams["weight"]
    by_set = build_config("dann", "mnist2digits", overrides={"hparams_seed": "5"})
    assert by_set.train.lr == c5.train.lr


def test_every_method_searches_the_shared_train_keys():
    assert set(SEARCHED_TRAIN_KEYS) == set(TRAIN_SEARCH)
    for name, cls in METHODS.items():
        space = search_space(cls)
        assert {f"train.{k}" for k in TRAIN_SEARCH} <= set(space), name


def test_run_key_ignores_selection_and_trial_label_but_not_code_versions(monkeypatch):
    a = build_config("coral", "mnist2digits")
    b = build_config("coral", "mnist2digits", overrides={"train.selection": "oracle"})
    assert api.run_id_for(a) == api.run_id_for(b), "selection changes no training"
    c = build_config("coral", "mnist2digits", overrides={"hparams_seed": 0, "seed": 0})
    c.hparams_seed = 9  # same values, another label
    assert config_hash(a, 1, 1) == config_hash(c, 1, 1)
    assert config_hash(a, 1, 1) != config_hash(a, 1, 2), "method version is in the key"
    before = api.run_id_for(a)[0]
    monkeypatch.setattr(METHODS.get("coral"), "version", 99)
    assert api.run_id_for(a)[0] != before


def test_a_method_version_bump_reruns_instead_of_reusing(results_dir, monkeypatch):
    cfg = build_config(
        "source_only", "mnist2digits", overrides={"train.steps": 4, "train.eval_every": 2}
    )
    rec, reused = api.run(cfg, results_dir)
    assert not reused and rec.method_version == 1
    assert api.run(cfg, results_dir)[1], "same code: reused"
    monkeypatch.setattr(METHODS.get("source_only"), "version", 2)
    rec2, reused2 = api.run(cfg, results_dir)
    assert not reused2 and rec2.method_version == 2 and rec2.run_id != rec.run_id
