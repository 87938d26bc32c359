"""A contract every registered method must honour."""

from __future__ import annotations

import math
import sys

import pytest
import torch

from dabench.config import build_config
from dabench.errors import UserError
from dabench.methods import METHODS, TargetAccess
from dabench.models import build_backbone
from dabench.train import train


def build(name: str, steps: int = 3):
    overrides = {"train.steps": steps, "train.eval_every": 1, "train.batch_size": 8}
    cfg = build_config(name, "mnist2digits", overrides=overrides)
    torch.manual_seed(0)
    backbone = build_backbone(cfg.backbone, (1, 28, 28))
    try:
        return cfg, METHODS.get(name)(backbone, 10, cfg.hparams, cfg.train.steps)
    except UserError as e:
        # Methods that adapt BatchNorm refuse the plain digit CNN (tested in
        # test_normalization_methods.py); they run on its BatchNorm variant.
        assert "--set backbone=dann_digits_bn" in str(e)
    cfg = build_config(name, "mnist2digits", overrides={**overrides, "backbone": "dann_digits_bn"})
    torch.manual_seed(0)
    backbone = build_backbone(cfg.backbone, (1, 28, 28))
    return cfg, METHODS.get(name)(backbone, 10, cfg.hparams, cfg.train.steps)


TRAINED = [n for n in METHODS.names() if METHODS.get(n).trainable]
FITTED = [n for n in METHODS.names() if not METHODS.get(n).trainable]


def test_every_method_is_covered_by_a_contract():
    assert TRAINED and set(TRAINED) | set(FITTED) == set(METHODS.names())


@pytest.mark.parametrize("name", TRAINED)
def test_method_contract(name, tiny_splits):
    cls = METHODS.get(name)
    assert cls.description and cls.paper, "methods document what they are and where they come from"
    assert cls.family, "every method belongs to a family (base.FAMILIES)"
    assert sys.modules[cls.__module__].__doc__, "each method file opens with its paper docstring"
    cfg, method = build(name)
    seen = []
    real_step = method.train_step

    def spy(src, tgt, step, opts):
        assert src.y is not None, "source batches carry labels"
        if cls.target_access == TargetAccess.NONE:
            assert tgt is None, f"{name} declares no target access but got a target batch"
        elif cls.target_access == TargetAccess.UNLABELED:
            assert tgt is not None and tgt.y is None, f"{name} must never see target labels"
        elif cls.target_access == TargetAccess.LABELED:  # the upper bound, and only it
            assert tgt is not None and tgt.y is not None
        else:  # few-shot: unlabeled pool images plus a labelled support batch
            assert tgt is not None and tgt.y is None, f"{name} saw labels of the unlabeled pool"
            assert tgt.support is not None and tgt.support.y is not None
        seen.append(step)
        total, parts = real_step(src, tgt, step, opts)
        assert total.ndim == 0 and math.isfinite(total.item())
        for v in parts.values():  # floats, or detached 0-d tensors read back later
            if isinstance(v, torch.Tensor):
                assert v.ndim == 0 and not v.requires_grad, "tensor parts are detached scalars"
                v = v.item()
            assert isinstance(v, float) and math.isfinite(v)
        return total, parts

    method.train_step = spy  # every path (loss or train_step override) goes through it
    splits = tiny_splits
    if cls.target_access == TargetAccess.FEW_SHOT:
        from dabench.data.fewshot import episode_splits

        splits, _ = episode_splits(tiny_splits, "mnist2digits", 10, shots=2, ways=0, episode=0)
    before = [p.detach().clone() for p in method.parameters()]
    result = train(method, splits, cfg, torch.device("cpu"))
    assert seen == [1, 2, 3]
    assert result.steps_run == 3
    assert any(not torch.equal(a, b) for a, b in zip(before, method.parameters(), strict=True)), (
        "parameters must move"
    )
    logits = method.predict(torch.rand(5, 1, 28, 28))
    assert logits.shape == (5, 10) and torch.isfinite(logits).all()
    assert set(result.selections) >= {"source_val", "oracle", "last"}
    for sel in result.selections.values():
        assert 0.0 <= sel.target_test_acc <= 1.0


@pytest.mark.parametrize("name", FITTED)
def test_fitted_method_contract(name, tiny_splits, tmp_path, monkeypatch):
    """Heads fitted without SGD: build through the run path, fit, score, predict."""
    from dabench.data import PAIRS
    from dabench.episode import build_method
    from dabench.errors import UserError

    monkeypatch.setenv("DABENCH_FEATURE_CACHE", str(tmp_path / "features"))
    cls = METHODS.get(name)
    assert cls.description and cls.paper
    assert sys.modules[cls.__module__].__doc__, "each method file opens with its paper docstring"
    if name == "zeroshot_text":  # the real encoder is tested in test_zeroshot_text.py
        import dabench.methods.zeroshot_text as zt

        monkeypatch.setattr(zt, "embed_texts", lambda texts: torch.eye(len(texts), 16))
    overrides = {"data.shots": 2} if cls.target_access == TargetAccess.FEW_SHOT else {}
    cfg = build_config(name, "mnist2digits", overrides=overrides)
    torch.manual_seed(0)
    backbone = build_backbone(cfg.backbone, (1, 28, 28))
    try:
        splits, method = build_method(
            cfg, PAIRS.get("mnist2digits"), cls, tiny_splits, backbone, torch.device("cpu")
        )
    except UserError as e:  # e.g. zeroshot_imagenet needs an ImageNet pair (test_zeroshot.py)
        pytest.skip(f"{name} does not apply to mnist2digits: {e}")
    result = train(method, splits, cfg, torch.device("cpu"))
    assert result.steps_run == 0
    for sel in result.selections.values():
        assert 0.0 <= sel.target_test_acc <= 1.0
    for x in (torch.rand(5, 1, 28, 28), splits.target_test.x[:5]):  # images or cached features
        logits = method.predict(x)
        assert logits.shape == (5, 10) and torch.isfinite(logits).all()
