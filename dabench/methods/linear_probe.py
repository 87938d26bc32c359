"""Linear probe: a frozen backbone and a new linear classifier trained on
labelled source data.

Kornblith, Shlens, Le, "Do Better ImageNet Models Transfer Better?", CVPR 2019
(the "fixed ImageNet features" setting, Sec. 3): features ``f = G(x)`` of a
frozen backbone ``G``; only ``W, b`` of ``softmax(W f + b)`` are trained, by
cross-entropy on source labels. The backbone stays in eval mode, so batch norm
keeps its (pretrained) statistics.

The paper fits the probe with L-BFGS and an L2 penalty searched on a
validation split; here the trainer's SGD, schedule and weight decay (the
shared search) fit it, so the probe is compared under the same budget as every
other method. On digit backbones trained from scratch the features are those
of a random network: a lower bound of the fine-tuning family, not a useful
adapter. No hyperparameters of its own.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dabench.data.base import Batch
from dabench.methods.base import Method, TargetAccess, register
from dabench.methods.finetuning import freeze


@register
class LinearProbe(Method):
    name = "linear_probe"
    description = "Frozen backbone, new linear classifier trained on source labels"
    paper = "Kornblith et al., CVPR 2019"
    family = "finetune"
    target_access = TargetAccess.NONE

    def __init__(self, backbone, num_classes, hp, total_steps, pair=None) -> None:
        super().__init__(backbone, num_classes, hp, total_steps, pair)
        self.classifier = nn.Linear(backbone.out_features, num_classes)
        freeze([self.backbone])

    def train(self, mode: bool = True):
        super().train(mode)
        self.backbone.eval()
        return self

    def param_groups(self):
        return [{"params": list(self.classifier.parameters()), "lr_mult": 1.0}]

    def loss(
        self, src: Batch, tgt: Batch | None, step: int
    ) -> tuple[torch.Tensor, dict[str, float]]:
        with torch.no_grad():
            f = self.backbone(src.x)
        ce = F.cross_entropy(self.classifier(f), src.y)
        return ce, {"cls": float(ce.detach())}
