"""Pseudo-Label: Lee, "Pseudo-Label: The Simple and Efficient Semi-Supervised
Learning Method for Deep Neural Networks", ICML 2013 Workshop on Challenges in
Representation Learning; used here for unsupervised domain adaptation.

Objective (Eq. 15-16), with a confidence threshold as in later self-training
work (FixMatch, Sohn et al. 2020):

    L = 1/n sum_i CE(f(x^s_i), y^s_i)
        + alpha(t) * 1/n' sum_j 1[max_c p_jc >= tau] * CE(f(x^t_j), argmax_c p_jc)

``p = softmax(f(x^t))`` is taken without gradient (the pseudo-label is a
fixed target each step, re-computed from the current network, Sec. 3.1).
``alpha(t)`` ramps linearly from 0 at ``ramp_start`` to ``weight`` at
``ramp_end`` (fractions of training; Eq. 16 uses T1 = 100, T2 = 600 of 1000
epochs, i.e. 0.1 and 0.6, and alpha_f = 3): a pure function of the step
(``dabench.losses.self_training``). Source and target go through the backbone
in one forward pass, so batch norm sees both domains.

Defaults and search (no ranges in the paper; TLlib-style): ``threshold`` 0.9,
uniform in [0.7, 0.99] (the paper takes every argmax, i.e. tau = 0, which on a
shifted domain trains on its own mistakes from the first step); ``weight``
1.0, log-uniform in [0.1, 3] (3 is the paper's alpha_f); ramp 0.1 -> 0.6 fixed.
The paper's dropout and its fine-tuning schedule are not used: the trainer's
optimizer and schedule apply.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dabench.data.base import Batch
from dabench.losses.self_training import pseudo_label_loss, ramp_weight
from dabench.methods.base import HParam, Method, TargetAccess, register
from dabench.search import LogUniform, Uniform


@register
class PseudoLabel(Method):
    name = "pseudo_label"
    description = "Cross-entropy on confident target predictions (hard pseudo-labels), ramped in"
    paper = "Lee, ICML-W 2013"
    family = "self_training"
    target_access = TargetAccess.UNLABELED
    hparams = {
        "threshold": HParam(
            0.9,
            "confidence a target prediction needs to become a label",
            low=0.0,
            high=1.0,
            search=Uniform(0.7, 0.99),
        ),
        "weight": HParam(
            1.0,
            "final weight alpha_f of the pseudo-label loss",
            low=0.0,
            search=LogUniform(0.1, 3.0),
        ),
        "ramp_start": HParam(
            0.1, "training fraction where the weight starts rising", low=0.0, high=1.0
        ),
        "ramp_end": HParam(
            0.6, "training fraction where the weight reaches its final value", low=0.0, high=1.0
        ),
    }

    def loss(
        self, src: Batch, tgt: Batch | None, step: int
    ) -> tuple[torch.Tensor, dict[str, float]]:
        assert tgt is not None, "pseudo_label needs unlabeled target batches"
        _, logits = self(torch.cat([src.x, tgt.x]))
        ce = F.cross_entropy(logits[: len(src)], src.y)
        lt = logits[len(src) :]
        pl, mask = pseudo_label_loss(lt, lt, float(self.hp["threshold"]))
        alpha = ramp_weight(
            self.progress(step),
            float(self.hp["ramp_start"]),
            float(self.hp["ramp_end"]),
            float(self.hp["weight"]),
        )
        total = ce + alpha * pl
        return total, {
            "cls": float(ce.detach()),
            "pseudo": float(pl.detach()),
            "alpha": alpha,
            "mask_rate": float(mask.float().mean()),
        }
