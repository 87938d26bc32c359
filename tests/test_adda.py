"""ADDA's two stages under the trainer's one budget, and the zoo on a BatchNorm backbone."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from dabench.config import build_config
from dabench.methods import METHODS
from dabench.models.backbones import Backbone
from dabench.train import train


class _BNNet(Backbone):
    """A tiny conv net with BatchNorm, standing in for a BN digit backbone."""

    head_hidden = (16,)

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 4, 5, stride=3),
            nn.BatchNorm2d(4),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(4 * 8 * 8, 12),
            nn.BatchNorm1d(12),
            nn.ReLU(),
        )
        self.out_features = 12

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def _build(name: str, steps: int, **hp):
    overrides = {"train.steps": steps, "train.eval_every": 1, "train.batch_size": 8}
    overrides.update({f"hparams.{k}": v for k, v in hp.items()})
    cfg = build_config(name, "mnist2digits", overrides=overrides)
    torch.manual_seed(0)
    return cfg, METHODS.get(name)(_BNNet(), 10, cfg.hparams, steps)


def _state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _same(a: dict, b: dict) -> bool:
    return all(torch.equal(a[k], b[k]) for k in a)


def test_adda_stages_split_the_budget_by_progress(tiny_splits):
    cfg, adda = _build("adda", steps=8, stage_fraction=0.25)
    assert [s for s in range(1, 9) if not adda.in_stage2(s)] == [1, 2]
    snaps = []
    real = adda.train_step

    def spy(src, tgt, step, opts):
        out = real(src, tgt, step, opts)
        snaps.append(
            {
                "step": step,
                "stage": out[1]["stage"],
                "src_enc": _state(adda.backbone),
                "tgt_enc": _state(adda.target_backbone),
                "cls": _state(adda.classifier),
                "disc": _state(adda.discriminator),
            }
        )
        return out

    adda.train_step = spy
    result = train(adda, tiny_splits, cfg, torch.device("cpu"))
    assert result.steps_run == 8
    assert [s["stage"] for s in snaps] == [1.0, 1.0] + [2.0] * 6
    # Stage 1: the target encoder mirrors the source encoder (its initialisation).
    for s in snaps[:2]:
        assert _same(s["src_enc"], s["tgt_enc"])
    assert not _same(snaps[0]["src_enc"], snaps[1]["src_enc"]), "stage 1 trains M_s"
    end1 = snaps[1]
    for s in snaps[2:]:
        # Stage 2: M_s (BatchNorm statistics included) and C are frozen.
        assert _same(s["src_enc"], end1["src_enc"]) and _same(s["cls"], end1["cls"])
    last = snaps[-1]
    assert not _same(last["tgt_enc"], end1["tgt_enc"]), "stage 2 trains M_t"
    assert not _same(last["disc"], end1["disc"]), "stage 2 trains D"
    # No gradient reaches D in stage 1.
    assert _same(snaps[0]["disc"], end1["disc"])


def test_adda_predicts_with_the_target_encoder_and_source_classifier():
    _, adda = _build("adda", steps=4)
    with torch.no_grad():
        adda.target_backbone.net[0].weight.add_(1.0)  # make the two encoders differ
    adda.eval()
    x = torch.rand(3, 1, 28, 28)
    torch.testing.assert_close(adda.predict(x), adda.classifier(adda.target_backbone(x)))
    assert not torch.allclose(adda.predict(x), adda.classifier(adda.backbone(x)))


@pytest.mark.parametrize("name", ["adda", "cdan", "cdan_e", "mcd", "mdd", "mmd", "jan"])
def test_methods_train_on_a_batchnorm_backbone(name, tiny_splits):
    cfg, method = _build(name, steps=3)
    result = train(method, tiny_splits, cfg, torch.device("cpu"))
    assert result.steps_run == 3 and math.isfinite(result.final_parts["loss"])
    method.eval()
    logits = method.predict(torch.rand(2, 1, 28, 28))
    assert logits.shape == (2, 10) and torch.isfinite(logits).all()
