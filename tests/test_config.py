from __future__ import annotations

import pytest

from dabench.config import build_config, config_hash, parse_set
from dabench.errors import UserError


def test_defaults_and_overrides():
    cfg = build_config(
        "dann",
        "mnist2digits",
        3,
        overrides=parse_set(
            ["train.lr=0.02", "hparams.weight=0.5", "train.steps=10", "train.eval_every=5"]
        ),
    )
    assert cfg.seed == 3
    assert cfg.train.lr == 0.02 and isinstance(cfg.train.lr, float)
    assert cfg.train.steps == 10 and isinstance(cfg.train.steps, int)
    assert cfg.hparams["weight"] == 0.5
    assert cfg.hparams["gamma"] == 10.0  # filled from the method's defaults
    assert cfg.backbone == "dann_digits"  # the pair's default


def test_suite_overrides_then_cli_overrides():
    cfg = build_config(
        "coral",
        "digits2mnist",
        suite_overrides={"train": {"steps": 50, "lr": 0.1, "eval_every": 5}},
        overrides={"train.steps": "7"},
    )
    assert cfg.train.steps == 7 and cfg.train.lr == 0.1


@pytest.mark.parametrize(
    "item,match",
    [
        ("train.nope=1", "unknown config key 'train.nope'"),
        ("nope=1", "unknown config key 'nope'"),
        ("train.steps=abc", "train.steps must be int"),
        ("train.steps=1.5", "train.steps must be int"),
        ("train.steps=0", "train.steps must be >= 1"),
        ("train.lr=-0.1", "train.lr must be > 0"),
        ("train.lr=0", "train.lr must be > 0"),
        ("train.momentum=1.5", "train.momentum must be <= 0.999"),
        ("train.selection=best", "unknown selector 'best'"),
        ("train.lr_schedule=step", "train.lr_schedule must be one of"),
        ("hparams.weight=-1", "hparams.weight must be >= 0"),
        ("hparams.wieght=1", "has no hyperparameter 'wieght'"),
        ("backbone=resnet9000", "unknown backbone"),
        ("trainsteps", "--set expects key=value"),
    ],
)
def test_bad_values_are_user_errors(item, match):
    with pytest.raises(UserError, match=match):
        build_config("dann", "mnist2digits", overrides=parse_set([item]))


def test_hash_covers_result_not_environment():
    a = build_config("coral", "mnist2digits", 0)
    b = build_config(
        "coral", "mnist2digits", 0, overrides={"device": "cpu", "data.root": "/elsewhere"}
    )
    c = build_config("coral", "mnist2digits", 0, overrides={"hparams.weight": 2.0})
    d = build_config("coral", "mnist2digits", 1)
    assert config_hash(a, 1, 1) == config_hash(b, 1, 1)
    assert (
        len(
            {
                config_hash(a, 1, 1),
                config_hash(c, 1, 1),
                config_hash(d, 1, 1),
                config_hash(a, 2, 1),
                config_hash(a, 1, 2),
            }
        )
        == 5
    )


def test_backbone_pretrained_flag_and_its_dotted_alias():
    a = build_config(
        "source_only", "mnist2digits", overrides=parse_set(["backbone.pretrained=false"])
    )
    b = build_config(
        "source_only", "mnist2digits", overrides=parse_set(["backbone_pretrained=false"])
    )
    assert a.backbone_pretrained is False and b.backbone_pretrained is False
    with pytest.raises(UserError, match="backbone_pretrained must be bool"):
        build_config(
            "source_only", "mnist2digits", overrides=parse_set(["backbone_pretrained=maybe"])
        )


def test_steps_below_eval_every_is_an_error_naming_both_and_the_fix():
    with pytest.raises(
        UserError, match=r"train.steps \(7\).*train.eval_every \(200\).*eval_every="
    ):
        build_config("coral", "digits2mnist", overrides={"train.steps": 7})
    ok = build_config("coral", "digits2mnist", overrides={"train.steps": 7, "train.eval_every": 7})
    assert ok.train.eval_every == ok.train.steps == 7
    # A head fitted without SGD runs no steps: nothing to evaluate between.
    build_config("zeroshot_imagenet", "mnist2digits", overrides={"train.steps": 7})


def test_an_hparam_added_with_a_quiet_default_keeps_old_run_keys():
    """source_only's head_lr_mult reproduces its earlier lrs at the default:
    the key is the one computed without it; another value changes the key."""
    from dabench.api import run_id_for
    from dabench.config import config_hash

    cfg = build_config("source_only", "mnist2digits")
    assert cfg.hparams["head_lr_mult"] == 10.0
    _, key, pv = run_id_for(cfg)
    legacy = build_config("source_only", "mnist2digits")
    del legacy.hparams["head_lr_mult"]
    from dabench.methods import METHODS

    assert key == config_hash(legacy, pv, METHODS.get("source_only").version)
    changed = build_config("source_only", "mnist2digits", overrides={"hparams.head_lr_mult": 5})
    assert run_id_for(changed)[1] != key
