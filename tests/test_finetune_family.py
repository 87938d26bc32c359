"""The fine-tuning family: backbone blocks, what each method trains, the head's
lr multiplier, and the labelled-target upper bound's data."""

from __future__ import annotations

import pytest
import torch

from dabench.config import build_config
from dabench.methods import METHODS
from dabench.models import build_backbone
from dabench.train import train


def make(name: str, backbone: str = "dann_digits", steps: int = 3, shape=(1, 28, 28), **hp):
    overrides = {"train.steps": steps, "train.eval_every": steps, "train.batch_size": 8}
    overrides.update({f"hparams.{k}": v for k, v in hp.items()})
    cfg = build_config(name, "mnist2digits", overrides=overrides)
    torch.manual_seed(0)
    bb = build_backbone(backbone, shape, pretrained=False)
    return cfg, METHODS.get(name)(bb, 10, cfg.hparams, cfg.train.steps)


def moved(before, module) -> list[bool]:
    return [not torch.equal(a, b) for a, b in zip(before, module.parameters(), strict=True)]


def test_blocks_of_the_digit_backbones_and_resnet():
    convs = build_backbone("dann_digits", (1, 28, 28)).blocks()
    assert len(convs) == 2
    assert [type(b[0]).__name__ for b in convs] == ["Conv2d", "Conv2d"]
    assert len(build_backbone("lenet", (1, 28, 28)).blocks()) == 3  # conv, conv, fc500
    rn = build_backbone("resnet18", (3, 32, 32), pretrained=False)
    blocks = rn.blocks()
    assert len(blocks) == 5 and blocks[-1] is rn.net.layer4
    owned = {id(p) for b in blocks for p in b.parameters()}
    assert owned == {id(p) for p in rn.parameters()}, "stages cover every parameter"


def test_blocks_attach_batch_norm_to_the_layer_before_it():
    from torch import nn

    from dabench.models.backbones import Backbone

    class Net(Backbone):
        out_features = 4

        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(
                nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Conv2d(2, 4, 3),
                nn.BatchNorm2d(4), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
            )  # fmt: skip

    blocks = Net().blocks()
    assert [[type(m).__name__ for m in b] for b in blocks] == [
        ["Conv2d", "BatchNorm2d"],
        ["Conv2d", "BatchNorm2d"],
    ]


def test_linear_probe_trains_only_a_linear_head(tiny_splits):
    cfg, m = make("linear_probe")
    assert isinstance(m.classifier, torch.nn.Linear)
    bb = [p.detach().clone() for p in m.backbone.parameters()]
    head = [p.detach().clone() for p in m.classifier.parameters()]
    train(m, tiny_splits, cfg, torch.device("cpu"))
    assert not any(moved(bb, m.backbone)) and all(moved(head, m.classifier))
    m.train()
    assert not m.backbone.training and m.classifier.training


@pytest.mark.parametrize("k, expect", [(1, [False, False, True, True]), (5, [True] * 4)])
def test_finetune_partial_trains_the_last_k_blocks(tiny_splits, k, expect):
    cfg, m = make("finetune_partial", trainable_blocks=k)
    before = [p.detach().clone() for p in m.backbone.parameters()]
    train(m, tiny_splits, cfg, torch.device("cpu"))
    assert moved(before, m.backbone) == expect  # conv1 w, b, conv2 w, b


def test_frozen_blocks_keep_batch_norm_statistics():
    cfg, m = make("finetune_partial", "resnet18", shape=(3, 32, 32), trainable_blocks=1)
    m.train()
    assert not m.backbone.net.bn1.training and not m.backbone.net.layer3.training
    assert m.backbone.net.layer4.training


def test_head_lr_multiplier_only_acts_on_pretrained_backbones():
    _, m = make("source_only")
    assert [g["lr_mult"] for g in m.param_groups()] == [1.0, 1.0], "digits: one lr as before"
    m.backbone.lr_mult = 0.1  # as a pretrained backbone has
    assert [g["lr_mult"] for g in m.param_groups()] == pytest.approx([0.1, 1.0])
    _, m = make("source_only", head_lr_mult=5.0)
    m.backbone.lr_mult = 0.1
    assert [g["lr_mult"] for g in m.param_groups()] == pytest.approx([0.1, 0.5])
    n = sum(len(g["params"]) for g in m.param_groups())
    assert n == len(list(m.parameters()))


def test_target_only_trains_on_target_labels_and_adapters_never_see_them(tiny_splits):
    seen = {}
    for name in ("target_only", "pseudo_label"):
        cfg, m = make(name, steps=2)
        real = m.train_step

        def spy(src, tgt, step, opts, name=name, real=real):
            seen[name] = tgt
            return real(src, tgt, step, opts)

        m.train_step = spy
        train(m, tiny_splits, cfg, torch.device("cpu"))
    tgt = seen["target_only"]
    assert tgt.y is not None
    # The labels are the target-train split's own, image for image.
    ds = tiny_splits.target_train
    idx = [int((ds.x == x).flatten(1).all(1).nonzero()[0]) for x in tgt.x]
    assert tgt.y.tolist() == ds.y[idx].tolist()
    assert seen["pseudo_label"].y is None
