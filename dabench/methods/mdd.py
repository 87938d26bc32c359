"""MDD: Zhang, Liu, Long, Jordan, "Bridging Theory and Algorithm for Domain
Adaptation", ICML 2019.

Margin disparity discrepancy with an auxiliary (adversarial) classifier
``f'`` of the same shape as the main classifier ``f`` (Sec. 5, the
objective after Eq. 29):

    min_{f, psi}  E_src CE(f(psi(x)), y) + eta * D_gamma
    max_{f'}      D_gamma,
    D_gamma = E_tgt log(1 - sigma_{h_f(x)}(f'(psi(x))))
              - gamma * E_src CE(f'(psi(x)), h_f(x))

(``dabench.losses.discrepancy.margin_disparity_discrepancy``; ``h_f`` the
argmax of ``f``, no gradient through it). One backward pass of
``CE - eta * D_gamma``: ``f'`` descends ``-D_gamma`` and sits behind a gradient
reversal layer, so the features ``psi`` descend ``+D_gamma`` (TLlib's
formulation; we checked its loss against the paper's and they agree).

Defaults: margin ``gamma = 4`` (the paper finds larger margins better up to a
point, Sec. 6, and TLlib's Office-31/Office-Home scripts use 4; the paper has
no digit experiments), ``eta = 1``. The reversal coefficient ramps to
``grl_max = 0.1`` (the authors' code and TLlib's warm-start layer cap it at
0.1) along DANN's schedule ``grl_max * (2 / (1 + exp(-10 p)) - 1)``.

Search space (trials k > 0): lr and weight decay from the trainer's ranges;
``margin`` in {2, 3, 4} and ``weight`` (eta) log-uniform in [0.1, 3]; these
ranges are ours, around the paper's values.

Deviations: the paper's bottleneck-plus-1024-wide heads and its lr schedule
(``(1 + 0.0002 i)^-0.75``, TLlib) are replaced by the backbone's head and the
trainer's schedule; the reversal warm-up follows training progress instead of
a fixed 1,000 iterations.
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F

from dabench.data.base import Batch
from dabench.losses import grad_reverse, grl_coefficient
from dabench.losses.discrepancy import margin_disparity_discrepancy
from dabench.methods.base import HParam, Method, TargetAccess, register
from dabench.models.heads import mlp_head
from dabench.search import Choice, LogUniform


@register
class MDD(Method):
    name = "mdd"
    description = "Margin disparity discrepancy with an adversarial auxiliary classifier"
    paper = "Zhang et al., ICML 2019"
    family: ClassVar[str] = "adversarial"
    target_access = TargetAccess.UNLABELED
    hparams = {
        "margin": HParam(4.0, "margin factor gamma", low=1.0, search=Choice((2.0, 3.0, 4.0))),
        "weight": HParam(
            1.0, "eta, the weight of the disparity term", low=0.0, search=LogUniform(0.1, 3.0)
        ),
        "grl_max": HParam(0.1, "final coefficient of the gradient reversal layer", low=0.0),
        "gamma": HParam(10.0, "steepness of the reversal-coefficient schedule", low=0.0),
    }

    def __init__(self, backbone, num_classes, hp, total_steps, pair=None) -> None:
        super().__init__(backbone, num_classes, hp, total_steps, pair)
        self.adversary = mlp_head(backbone.out_features, backbone.head_hidden, num_classes)

    def loss(
        self, src: Batch, tgt: Batch | None, step: int
    ) -> tuple[torch.Tensor, dict[str, float]]:
        assert tgt is not None, "mdd needs unlabeled target batches"
        n = len(src)
        f = self.backbone(torch.cat([src.x, tgt.x]))
        y = self.classifier(f)
        ce = F.cross_entropy(y[:n], src.y)
        coeff = float(self.hp["grl_max"]) * grl_coefficient(
            self.progress(step), float(self.hp["gamma"])
        )
        y_adv = self.adversary(grad_reverse(f, coeff))
        mdd = margin_disparity_discrepancy(
            y[:n], y_adv[:n], y[n:], y_adv[n:], float(self.hp["margin"])
        )
        total = ce - float(self.hp["weight"]) * mdd
        return total, {"cls": float(ce.detach()), "mdd": float(mdd.detach()), "grl": coeff}
