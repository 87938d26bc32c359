"""DAN: Long, Cao, Wang, Jordan, "Learning Transferable Features with Deep
Adaptation Networks", ICML 2015 (registered as ``mmd``).

Objective (Eq. 4):  min  1/n_a sum CE + lambda * sum_{l in layers} d_k^2(D_s^l, D_t^l)

with ``d_k^2`` the multi-kernel MMD of layer ``l``'s activations under a
convex combination of Gaussian kernels (``dabench.losses.mmd.mk_mmd``).
``layer`` picks the adapted layers: ``features`` (the backbone output),
``logits`` (the classifier output, the paper's fc8) or ``both`` (default: the
paper adapts the last layers, fc6-fc8, logits included).

Kernels: bandwidths ``m_u * gamma_0`` around the median heuristic ``gamma_0``
(the paper's setting). ``kernels = five`` (default) is the 5-kernel family
``2^-2 ... 2^2`` of the authors' released code and TLlib; ``paper`` is the
family the paper's text states, 2^-8 ... 2^8 in steps of 2^(1/2) (33 kernels).
With equal kernel weights (the paper learns them by a QP; TLlib and
pytorch-adapt do not) most of the 33 kernels are nearly constant on a batch and
dilute the statistic, which is why the 5-kernel family is the default.

Estimator: ``linear``, the paper's linear-time unbiased estimate (Eq. 3,
default), or ``quadratic``, the unbiased U-statistic (cheap at these batch
sizes and of lower variance). TLlib defaults to the linear one; pytorch-adapt
offers both.

Defaults: ``lambda = 1`` (TLlib's trade-off; the paper tunes it on
validation). Search space (trials k > 0): lr and weight decay from the
trainer's ranges; ``weight`` log-uniform in [0.1, 10] (DomainBed's MMD weight
range, 10^U(-1, 1)); ``layer``, ``estimator`` and ``kernels`` over their
choices.

Deviations: no learned kernel weights beta (see above); the paper fine-tunes
AlexNet with frozen conv1-conv3; here the backbone's lr multiplier applies.
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F

from dabench.data.base import Batch
from dabench.losses.mmd import DAN_PAPER_MULTIPLIERS, ESTIMATORS, FIVE_MULTIPLIERS, mk_mmd
from dabench.methods.base import HParam, Method, TargetAccess, register
from dabench.search import Choice, LogUniform

KERNEL_FAMILIES = {"five": FIVE_MULTIPLIERS, "paper": DAN_PAPER_MULTIPLIERS}


@register
class DAN(Method):
    name = "mmd"
    description = "DAN: multi-kernel MMD between source and target activations"
    paper = "Long et al., ICML 2015"
    family: ClassVar[str] = "discrepancy"
    target_access = TargetAccess.UNLABELED
    hparams = {
        "weight": HParam(
            1.0, "lambda, the weight of the MMD terms", low=0.0, search=LogUniform(0.1, 10.0)
        ),
        "layer": HParam(
            "both",
            "activations to align: backbone features, logits, or both",
            choices=("features", "logits", "both"),
            search=Choice(("features", "logits", "both")),
        ),
        "estimator": HParam(
            "linear",
            "MMD estimate: the paper's linear-time one or the quadratic U-statistic",
            choices=ESTIMATORS,
            search=Choice(ESTIMATORS),
        ),
        "kernels": HParam(
            "five",
            "Gaussian kernel family around the median bandwidth",
            choices=tuple(KERNEL_FAMILIES),
            search=Choice(tuple(KERNEL_FAMILIES)),
        ),
    }

    def loss(
        self, src: Batch, tgt: Batch | None, step: int
    ) -> tuple[torch.Tensor, dict[str, float]]:
        assert tgt is not None, "mmd needs unlabeled target batches"
        n = len(src)
        f = self.backbone(torch.cat([src.x, tgt.x]))
        logits = self.classifier(f)
        ce = F.cross_entropy(logits[:n], src.y)
        layer = self.hp["layer"]
        acts = {"features": [f], "logits": [logits], "both": [f, logits]}[layer]
        mults = KERNEL_FAMILIES[self.hp["kernels"]]
        est = self.hp["estimator"]
        mmd = sum(mk_mmd(a[:n], a[n:], mults, est) for a in acts)
        total = ce + float(self.hp["weight"]) * mmd
        return total, {"cls": float(ce.detach()), "mmd": float(mmd.detach())}
