"""JAN: Long, Zhu, Wang, Jordan, "Deep Transfer Learning with Joint Adaptation
Networks", ICML 2017.

Objective (Eq. 12):  min  1/n_s sum CE + lambda * JMMD^2(features, softmax)

with the joint MMD of the layers ``(f, softmax(logits))`` under the product of
each layer's kernel (Eq. 10-11, ``dabench.losses.mmd.jmmd``): the features get
a multi-kernel Gaussian family around the median heuristic (the 5-kernel
family ``2^-2 ... 2^2`` of the released code and TLlib), the softmax outputs
one Gaussian of fixed bandwidth 1.68 (the released code; TLlib's
``sigma = 0.92``). Gradients flow through both layers, as in the paper.

Estimator: ``linear``, the paper's linear-time unbiased estimate (Eq. 11,
default), or ``quadratic``, the unbiased U-statistic.

Defaults: ``lambda = 1`` (TLlib's trade-off). Search space (trials k > 0): lr
and weight decay from the trainer's ranges; ``weight`` log-uniform in
[0.1, 10] (as mmd); ``estimator`` over its choices.

Deviations: the adversarial variant JAN-A is not implemented; no learned
kernel weights (equal weights, as TLlib).
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F

from dabench.data.base import Batch
from dabench.losses.mmd import ESTIMATORS, FIVE_MULTIPLIERS, JAN_SOFTMAX_BANDWIDTH, jmmd
from dabench.methods.base import HParam, Method, TargetAccess, register
from dabench.search import Choice, LogUniform

KERNELS = ((FIVE_MULTIPLIERS, None), ((1.0,), JAN_SOFTMAX_BANDWIDTH))


@register
class JAN(Method):
    name = "jan"
    description = "Joint adaptation networks: joint MMD of features and predictions"
    paper = "Long et al., ICML 2017"
    family: ClassVar[str] = "discrepancy"
    target_access = TargetAccess.UNLABELED
    hparams = {
        "weight": HParam(
            1.0, "lambda, the weight of the JMMD term", low=0.0, search=LogUniform(0.1, 10.0)
        ),
        "estimator": HParam(
            "linear",
            "JMMD estimate: the paper's linear-time one or the quadratic U-statistic",
            choices=ESTIMATORS,
            search=Choice(ESTIMATORS),
        ),
    }

    def loss(
        self, src: Batch, tgt: Batch | None, step: int
    ) -> tuple[torch.Tensor, dict[str, float]]:
        assert tgt is not None, "jan needs unlabeled target batches"
        n = len(src)
        f = self.backbone(torch.cat([src.x, tgt.x]))
        logits = self.classifier(f)
        ce = F.cross_entropy(logits[:n], src.y)
        p = torch.softmax(logits, dim=1)
        j = jmmd([f[:n], p[:n]], [f[n:], p[n:]], KERNELS, self.hp["estimator"])
        total = ce + float(self.hp["weight"]) * j
        return total, {"cls": float(ce.detach()), "jmmd": float(j.detach())}
