"""AdaBN, Tent and SHOT: BatchNorm requirement, the target_eval hook, stages."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import dabench.train as train_mod
from dabench.config import build_config
from dabench.data.base import Batch, TensorImageDataset
from dabench.errors import UserError
from dabench.methods import METHODS
from dabench.models import build_backbone
from dabench.models.batchnorm import batchnorm_layers
from dabench.selection import SELECTORS
from dabench.train import target_batches_of, train


def _build(name, overrides=None, backbone="dann_digits_bn", steps=6):
    over = {"train.steps": steps, "train.eval_every": 2, "train.batch_size": 8, **(overrides or {})}
    if backbone:
        over["backbone"] = backbone
    cfg = build_config(name, "mnist2digits", overrides=over)
    torch.manual_seed(0)
    bb = build_backbone(cfg.backbone, (1, 28, 28))
    return cfg, METHODS.get(name)(bb, 10, cfg.hparams, cfg.train.steps)


def _shifted(splits):
    """Target images far brighter than source, so their statistics differ."""

    def shift(ds):
        return TensorImageDataset(ds.x * 0.2 + 0.8, ds.y, ds.classes)

    return dataclasses.replace(
        splits,
        target_train=shift(splits.target_train),
        target_val=shift(splits.target_val),
        target_test=shift(splits.target_test),
    )


@pytest.mark.parametrize("name", ["adabn", "tent", "shot"])
def test_batchnorm_methods_refuse_a_backbone_without_batchnorm(name):
    with pytest.raises(UserError, match="--set backbone=dann_digits_bn"):
        _build(name, backbone="dann_digits")


def _spy_evaluations(monkeypatch, splits, probe):
    seen = []
    real = train_mod.evaluate

    def spy(method, ds, device, num_classes, *rest):
        kind = {id(splits.source_val): "source", id(splits.target_val): "target"}.get(id(ds))
        kind = kind or ("test" if ds is splits.target_test else "?")
        seen.append((kind, probe(method)))
        return real(method, ds, device, num_classes, *rest)

    monkeypatch.setattr(train_mod, "evaluate", spy)
    return seen


def test_adabn_scores_target_splits_with_target_statistics_and_source_with_source(
    tiny_splits, monkeypatch
):
    splits = _shifted(tiny_splits)
    cfg, m = _build("adabn")
    bn = batchnorm_layers(m)[0]
    conv = m.backbone.net[0]

    def probe(m):
        # Target statistics: the mean of the first conv's outputs over
        # target-train at this moment (the 32 images are every statistics
        # batch, so the average is exact).
        with torch.no_grad():
            return bn.running_mean.clone(), conv(splits.target_train.x).mean((0, 2, 3))

    seen = _spy_evaluations(monkeypatch, splits, probe)
    train(m, splits, cfg, torch.device("cpu"))
    kinds = [k for k, _ in seen]
    assert kinds.count("source") == 3 and kinds.count("target") == 3
    # Rules that chose the same checkpoint share one scoring of it.
    assert 1 <= kinds.count("test") <= len(SELECTORS.names()), "test labels at most once per rule"
    for kind, (mean, target_mean) in seen:
        if kind in ("target", "test"):
            assert torch.allclose(mean, target_mean, atol=1e-5)
        else:
            assert not torch.allclose(mean, target_mean, atol=1e-2)
    # The last source-val evaluation saw the trained source statistics, which
    # the model still holds: the target ones were only borrowed.
    last_source = [mean for kind, (mean, _) in seen if kind == "source"][-1]
    assert torch.equal(last_source, bn.running_mean)


def test_tent_restores_the_model_and_adapts_only_batchnorm_affine(tiny_splits):
    splits = _shifted(tiny_splits)
    _, m = _build("tent", {"hparams.steps": 5})
    m.train()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    batches = target_batches_of(splits.target_train, torch.device("cpu"), seed=0)
    seen_labels = []
    real_adapt = m.adapt

    def adapt(it):
        def check():
            for b in it:
                seen_labels.append(b.y)
                yield b

        return real_adapt(check())

    m.adapt = adapt
    with m.target_eval(batches):
        inside = m.state_dict()
        changed = {k for k in inside if not torch.equal(inside[k], before[k])}
        bns = batchnorm_layers(m)
        assert all(bn.running_mean is None for bn in bns), "predicts with batch statistics"
        bn_names = {n for n, mod in m.named_modules() if mod in bns}
        affine = {f"{n}.{p}" for n in bn_names for p in ("weight", "bias")}
        assert affine <= changed, "every BatchNorm scale and shift adapts"
        assert changed - affine <= {f"{n}.num_batches_tracked" for n in bn_names}, changed
    assert seen_labels and all(y is None for y in seen_labels), "tent never sees target labels"
    after = m.state_dict()
    assert after.keys() == before.keys()
    assert all(torch.equal(after[k], before[k]) for k in before), "restored exactly"
    assert m.training and all(p.requires_grad for p in m.parameters())


def test_tent_results_do_not_depend_on_target_train_labels_and_sources_are_unadapted(
    tiny_splits, monkeypatch
):
    splits = _shifted(tiny_splits)
    shuffled = dataclasses.replace(
        splits,
        target_train=TensorImageDataset(
            splits.target_train.x, splits.target_train.y.flip(0), splits.target_train.classes
        ),
    )
    results = []
    for s in (splits, shuffled):
        cfg, m = _build("tent", {"hparams.steps": 3})
        seen = _spy_evaluations(
            monkeypatch, s, lambda m: batchnorm_layers(m)[0].running_mean is None
        )
        r = train(m, s, cfg, torch.device("cpu"))
        assert all(batch_stats == (kind != "source") for kind, batch_stats in seen)
        results.append({k: (v.step, v.target_test_acc) for k, v in r.selections.items()})
    assert results[0] == results[1]


def test_shot_stages_split_by_progress_and_stage_two_is_target_only():
    _, m = _build("shot", {"hparams.centroid_every": 3}, steps=10)  # stage 2 from step 6
    g = torch.Generator().manual_seed(0)
    src = Batch(torch.rand(8, 1, 28, 28, generator=g), torch.arange(8) % 10)
    tgt = Batch(torch.rand(8, 1, 28, 28, generator=g))
    other_src = Batch(torch.rand(8, 1, 28, 28, generator=g), torch.zeros(8, dtype=torch.long))
    other_tgt = Batch(torch.rand(8, 1, 28, 28, generator=g))
    m.eval()  # fixed BatchNorm statistics: the comparisons below are exact
    assert [m.stage2_index(s) for s in (5, 6, 7)] == [-1, 0, 1]
    # Stage 1: source cross-entropy, the target batch is ignored.
    assert torch.equal(m.loss(src, tgt, 5)[0], m.loss(src, other_tgt, 5)[0])
    # Stage 2: no source data; the head gets no gradient, the features do.
    centroids = []
    for step in range(6, 11):
        loss_a, parts = m.loss(src, tgt, step)
        centroids.append(m.centroids.clone())
        assert parts["stage"] == 2.0
        m.zero_grad(set_to_none=True)
        loss_a.backward()
        assert all(p.grad is None for p in m.classifier.parameters())
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in m.backbone.parameters())
    # Recomputed at stage-2 steps 0 and 3 only (steps 6 and 9).
    same = [torch.equal(centroids[i], centroids[i - 1]) for i in range(1, 5)]
    assert same == [True, True, False, True]
    loss_b, _ = m.loss(other_src, tgt, 8)
    loss_c, _ = m.loss(src, tgt, 8)
    assert torch.equal(loss_b, loss_c), "stage 2 never reads source batches"
