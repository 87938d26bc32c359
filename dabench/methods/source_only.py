"""Source only: supervised training on labelled source data, no adaptation.

The baseline every gain is measured against. It gets the same trainer,
optimizer, schedule, step budget and selection rule as every adapter, so a
reported gain is the method's, not a weaker baseline's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dabench.data.base import Batch
from dabench.methods.base import Method, TargetAccess, register


@register
class SourceOnly(Method):
    name = "source_only"
    description = "Supervised training on source labels only (the baseline)"
    paper = "baseline (ERM)"
    target_access = TargetAccess.NONE

    def loss(
        self, src: Batch, tgt: Batch | None, step: int
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        _, logits = self(src.x)
        ce = F.cross_entropy(logits, src.y)
        return ce, {"cls": ce.detach()}
