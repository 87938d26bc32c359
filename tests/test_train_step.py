"""The ``train_step`` hook: alternating updates under the trainer's one budget."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from dabench.config import build_config
from dabench.methods.base import DivergedError, Method, TargetAccess, check_finite
from dabench.models import build_backbone
from dabench.models.heads import mlp_head
from dabench.train import train


class _TwoPlayer(Method):
    """A toy method with two optimizers stepped alternately (MCD's shape)."""

    name = "toy_two_player"
    description = "test only"
    target_access = TargetAccess.UNLABELED

    def __init__(self, backbone, num_classes, hp, total_steps, pair=None):
        super().__init__(backbone, num_classes, hp, total_steps, pair)
        self.other = mlp_head(backbone.out_features, (), num_classes)
        self.calls: list[tuple[int, str]] = []

    def optimizer_groups(self):
        ids = {id(p) for p in self.other.parameters()}
        main = [p for p in self.parameters() if id(p) not in ids]
        return {
            "main": [{"params": main, "lr_mult": 1.0}],
            "other": [{"params": list(self.other.parameters()), "lr_mult": 1.0}],
        }

    def train_step(self, src, tgt, step, opts):
        f, logits = self(src.x)
        loss = F.cross_entropy(logits, src.y)
        check_finite(loss, step)
        opts["main"].zero_grad(set_to_none=True)
        loss.backward()
        opts["main"].step()
        self.calls.append((step, "main"))
        other = F.cross_entropy(self.other(self.backbone(src.x).detach()), src.y)
        opts["other"].zero_grad(set_to_none=True)
        other.backward()
        opts["other"].step()
        self.calls.append((step, "other"))
        return (loss + other).detach(), {
            "main": float(loss.detach()),
            "other": float(other.detach()),
        }


class _OneLoss(Method):
    name = "toy_one_loss"
    description = "test only"

    def loss(self, src, tgt, step):
        return F.cross_entropy(self(src.x)[1], src.y), {}


def _build(cls, steps=7, eval_every=3):
    cfg = build_config(
        "source_only",
        "mnist2digits",
        overrides={"train.steps": steps, "train.eval_every": eval_every, "train.batch_size": 8},
    )
    torch.manual_seed(0)
    return cfg, cls(build_backbone(cfg.backbone, (1, 28, 28)), 10, {}, steps)


def test_train_step_and_loss_methods_get_the_same_steps_and_evaluations(tiny_splits):
    cfg, two = _build(_TwoPlayer)
    _, one = _build(_OneLoss)
    before = [p.detach().clone() for p in two.other.parameters()]
    r_two = train(two, tiny_splits, cfg, torch.device("cpu"))
    r_one = train(one, tiny_splits, cfg, torch.device("cpu"))
    assert r_two.steps_run == r_one.steps_run == 7
    assert [row["step"] for row in r_two.curve] == [row["step"] for row in r_one.curve] == [3, 6, 7]
    assert two.calls == [(s, n) for s in range(1, 8) for n in ("main", "other")]
    assert any(not torch.equal(a, b) for a, b in zip(before, two.other.parameters(), strict=True))
    assert set(r_two.final_parts) >= {"loss", "main", "other"}
    assert math.isfinite(r_two.final_parts["loss"])


def test_both_optimizers_follow_the_trainers_schedule(tiny_splits):
    cfg, two = _build(_TwoPlayer, steps=4, eval_every=4)
    cfg.train.lr_schedule = "anneal"
    seen = {}
    real = two.train_step

    def spy(src, tgt, step, opts):
        seen[step] = {k: o.param_groups[0]["lr"] for k, o in opts.items()}
        return real(src, tgt, step, opts)

    two.train_step = spy
    train(two, tiny_splits, cfg, torch.device("cpu"))
    assert seen[1]["main"] == seen[1]["other"] == pytest.approx(cfg.train.lr)
    assert seen[4]["main"] == seen[4]["other"] < seen[1]["main"]


def test_check_finite_flags_divergence():
    check_finite(torch.tensor(1.0), 3)
    with pytest.raises(DivergedError, match="step 5"):
        check_finite(torch.tensor(float("nan")), 5)
