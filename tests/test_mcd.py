"""MCD takes the paper's three steps (A, B, C x num_k) every training step."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from dabench.config import build_config
from dabench.losses.discrepancy import classifier_discrepancy
from dabench.methods import METHODS
from dabench.models import build_backbone
from dabench.train import train


def _build(steps: int, num_k: int):
    cfg = build_config(
        "mcd",
        "mnist2digits",
        overrides={
            "train.steps": steps,
            "train.eval_every": steps,
            "train.batch_size": 8,
            "hparams.num_k": num_k,
        },
    )
    torch.manual_seed(0)
    backbone = build_backbone(cfg.backbone, (1, 28, 28))
    return cfg, METHODS.get("mcd")(backbone, 10, cfg.hparams, steps)


def _grads(params):
    return [None if p.grad is None else p.grad.detach().clone() for p in params]


# The spy wraps optimizer.step after the trainer built its schedulers.
@pytest.mark.filterwarnings("ignore:Seems like `optimizer.step\\(\\)` has been overridden")
@pytest.mark.parametrize("num_k", [4, 2])
def test_mcd_takes_steps_a_b_and_c(tiny_splits, num_k):
    cfg, mcd = _build(steps=2, num_k=num_k)
    gen = list(mcd.backbone.parameters())
    heads = list(mcd.classifier.parameters()) + list(mcd.classifier2.parameters())
    calls: list[tuple[int, str]] = []
    checked = {"B": 0, "C": 0}
    batch = {}
    real_step = mcd.train_step

    def spy(src, tgt, step, opts):
        batch.update(src=src, tgt=tgt)
        for name, opt in opts.items():
            if not hasattr(opt, "_real_step"):
                opt._real_step = opt.step

                def stepped(*a, _name=name, _opt=opt, **k):
                    on_step(_name, batch["step"])
                    return _opt._real_step(*a, **k)

                opt.step = stepped
        batch["step"] = step
        return real_step(src, tgt, step, opts)

    def on_step(name, step):
        i = sum(1 for s, _ in calls if s == step)  # index of this call within the step
        calls.append((step, name))
        src, tgt = batch["src"], batch["tgt"]
        if i == 0:  # step A: the generator's gradients of the source CE
            batch["gen_grads_a"] = _grads(gen)
        elif i == 2:  # step B: the classifiers, on source CE minus target discrepancy
            assert name == "classifiers"
            # G is fixed in step B: its loss sends no gradient into the generator.
            for got, a in zip(_grads(gen), batch["gen_grads_a"], strict=True):
                torch.testing.assert_close(got, a)
            with torch.no_grad():
                fs, ft = mcd.backbone(src.x), mcd.backbone(tgt.x)
            ref = F.cross_entropy(mcd.classifier(fs), src.y) + F.cross_entropy(
                mcd.classifier2(fs), src.y
            )
            ref = ref - classifier_discrepancy(mcd.classifier(ft), mcd.classifier2(ft))
            want = torch.autograd.grad(ref, heads)
            for got, w in zip(_grads(heads), want, strict=True):
                torch.testing.assert_close(got, w)
            checked["B"] += 1
        elif i >= 3:  # step C: the generator, on the target discrepancy
            assert name == "main"
            d = classifier_discrepancy(
                mcd.classifier(mcd.backbone(tgt.x)), mcd.classifier2(mcd.backbone(tgt.x))
            )
            want = torch.autograd.grad(d, gen)
            for got, w in zip(_grads(gen), want, strict=True):
                torch.testing.assert_close(got, w)
            checked["C"] += 1

    mcd.train_step = spy
    train(mcd, tiny_splits, cfg, torch.device("cpu"))
    one = [("main"), ("classifiers"), ("classifiers")] + ["main"] * num_k
    assert calls == [(s, n) for s in (1, 2) for n in one]
    assert checked == {"B": 2, "C": 2 * num_k}


def test_mcd_predicts_with_the_mean_of_both_classifiers():
    _, mcd = _build(steps=1, num_k=1)
    x = torch.rand(3, 1, 28, 28)
    f = mcd.backbone(x)
    want = (mcd.classifier(f) + mcd.classifier2(f)) / 2
    torch.testing.assert_close(mcd.predict(x), want.detach())
