"""Target only: supervised training on the labelled target-train split, the
upper bound of every adapter on a pair ("train on target", Ganin et al., JMLR
2016, Table 2; "Oracle" in Saenko et al., ECCV 2010).

Minimises ``1/n sum_i CE(C(G(x^t_i)), y^t_i)`` over target-train batches with
their labels (``TargetAccess.LABELED``: the only access level for which the
trainer hands out target labels). Source batches are drawn (the trainer's
budget is the same for all) but unused.

It reads target labels, so it is never ranked against adapters nor used as the
baseline: reports show it in a separate "upper bound" section, and its records
carry ``target_access = "labeled"``. ``head_lr_mult`` as in ``source_only``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dabench.data.base import Batch
from dabench.methods.base import Method, TargetAccess, register
from dabench.methods.finetuning import HEAD_LR_MULT, finetune_groups


@register
class TargetOnly(Method):
    name = "target_only"
    description = (
        "Supervised training on target-train labels: the upper bound (reads target labels)"
    )
    paper = "upper bound (train on target), Ganin et al., JMLR 2016"
    family = "upper_bound"
    target_access = TargetAccess.LABELED
    hparams = {"head_lr_mult": HEAD_LR_MULT}

    def param_groups(self):
        return finetune_groups(self, self.backbone.parameters())

    def loss(
        self, src: Batch, tgt: Batch | None, step: int
    ) -> tuple[torch.Tensor, dict[str, float]]:
        assert tgt is not None and tgt.y is not None, "target_only needs labelled target batches"
        _, logits = self(tgt.x)
        ce = F.cross_entropy(logits, tgt.y)
        return ce, {"cls": float(ce.detach())}
