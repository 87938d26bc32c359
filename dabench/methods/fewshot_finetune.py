"""Fine-tuning on source labels plus the k-shot target support set.

The supervised baseline of semi-supervised domain adaptation (the "S+T" row of
Saito, Kim, Sclaroff, Darrell, Saenko, "Semi-supervised Domain Adaptation via
Minimax Entropy", ICCV 2019, Tables 1-2): backbone and head are trained with
cross-entropy on labelled source images and on the few labelled target images,
each batch holding a source batch and a support batch:

    L = CE(C(F(x_s)), y_s) + w * CE(C(F(x_l)), y_l),   (x_l, y_l) in the support

Defaults: ``w = 1`` (both labelled sets weigh alike, as S+T trains on their
union); the trainer's shared optimizer, schedule and budget. Deviation: S+T
samples one batch from the union; here each step sees one batch of each, so
the tiny support set is not drowned out by the source.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dabench.data.base import Batch
from dabench.methods.base import HParam, Method, TargetAccess, register


@register
class FewShotFinetune(Method):
    name = "fewshot_finetune"
    description = "Fine-tune backbone and head on source labels plus the k-shot support"
    paper = "S+T baseline, Saito et al., ICCV 2019"
    family = "few_shot"
    target_access = TargetAccess.FEW_SHOT
    hparams = {"support_weight": HParam(1.0, "weight of the support-set cross-entropy", low=0.0)}

    def loss(
        self, src: Batch, tgt: Batch | None, step: int
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        support = getattr(tgt, "support", None)
        assert support is not None and support.y is not None, "needs the labelled support batch"
        logits = self.classifier(self.backbone(torch.cat([src.x, support.x])))
        ce_s = F.cross_entropy(logits[: len(src)], src.y)
        ce_t = F.cross_entropy(logits[len(src) :], support.y)
        total = ce_s + float(self.hp["support_weight"]) * ce_t
        return total, {"cls_source": ce_s.detach(), "cls_support": ce_t.detach()}
