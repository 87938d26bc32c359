"""Deep CORAL: Sun & Saenko, "Deep CORAL: Correlation Alignment for Deep
Domain Adaptation", ECCV 2016 Workshops (TASK-CV).

Objective (Eq. 4):  l = l_CLASS + lambda * l_CORAL, with
l_CORAL = ||C_S - C_T||_F^2 / (4 d^2) between source and target batch
covariances of one layer's activations.

The paper aligns the last classification layer (fc8, the logits) and picks
``lambda`` so that the two losses are of similar size at the end of training.
``layer`` chooses ``logits`` (the paper, Sec. 4: "we apply the CORAL loss to
the last classification layer fc8") or ``features`` (the backbone output, as
TLlib and DomainBed do); ``weight`` is lambda, 1 by default.

Search space (trials k > 0): lr and weight decay from the trainer's shared
ranges; ``weight`` log-uniform in [0.1, 10] (DomainBed searches its CORAL
weight in 10^U(-1, 1)); ``layer`` in {logits, features}.

Deviation: the paper fine-tunes an ImageNet AlexNet on Office-31 with lr 1e-3;
the budget and optimizer here are the trainer's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dabench.data.base import Batch
from dabench.losses import coral_loss
from dabench.methods.base import HParam, Method, TargetAccess, register
from dabench.search import Choice, LogUniform


@register
class DeepCORAL(Method):
    name = "coral"
    description = "Deep CORAL: align second-order statistics of source and target"
    paper = "Sun & Saenko, ECCV-W 2016"
    family = "discrepancy"
    target_access = TargetAccess.UNLABELED
    hparams = {
        "weight": HParam(
            1.0, "lambda, the weight of the CORAL loss", low=0.0, search=LogUniform(0.1, 10.0)
        ),
        "layer": HParam(
            "logits",
            "which activations to align",
            choices=("logits", "features"),
            search=Choice(("logits", "features")),
        ),
    }

    def loss(
        self, src: Batch, tgt: Batch | None, step: int
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        assert tgt is not None, "coral needs unlabeled target batches"
        f = self.backbone(torch.cat([src.x, tgt.x]))
        logits = self.classifier(f)
        n = len(src)
        ce = F.cross_entropy(logits[:n], src.y)
        a = logits if self.hp["layer"] == "logits" else f
        c = coral_loss(a[:n], a[n:])
        total = ce + float(self.hp["weight"]) * c
        return total, {"cls": ce.detach(), "coral": c.detach()}
