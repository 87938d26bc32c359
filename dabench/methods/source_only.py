"""Source only: supervised training on labelled source data, no adaptation.

The baseline every gain is measured against, and the fine-tuning family's full
fine-tuning: every backbone parameter trains. It gets the same trainer,
optimizer, schedule, step budget and selection rule as every adapter, so a
reported gain is the method's, not a weaker baseline's.

``head_lr_mult`` (10, TLlib's convention; not searched): on a pretrained
backbone (``lr_mult`` 0.1) the head trains at 10x the backbone's lr, i.e. at the
trainer's base lr; on the digit backbones trained from scratch everything
trains at the base lr, exactly as before the multiplier was a hyperparameter.
"""

from __future__ import annotations

import torch

from dabench.data.base import Batch
from dabench.methods.base import Method, TargetAccess, register
from dabench.methods.finetuning import HEAD_LR_MULT, finetune_groups


@register
class SourceOnly(Method):
    name = "source_only"
    description = "Supervised training on source labels only (the baseline; full fine-tuning)"
    paper = "baseline (ERM)"
    family = "baseline"
    target_access = TargetAccess.NONE
    hparams = {"head_lr_mult": HEAD_LR_MULT}

    def param_groups(self):
        return finetune_groups(self, self.backbone.parameters())

    def loss(
        self, src: Batch, tgt: Batch | None, step: int
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return self.source_loss(src)
