"""What AdaBN and Tent share (not a method itself): training on source labels
alone, on a backbone that must have BatchNorm layers, whose statistics or
affine parameters they adapt only when a target split is evaluated."""

from __future__ import annotations

import torch

from dabench.data.base import Batch
from dabench.methods.base import Method
from dabench.models.batchnorm import require_batchnorm


class SourceTrainedBatchNorm(Method):
    def __init__(self, backbone, num_classes, hp, total_steps, pair=None) -> None:
        super().__init__(backbone, num_classes, hp, total_steps, pair)
        require_batchnorm(self, self.name)

    def loss(
        self, src: Batch, tgt: Batch | None, step: int
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return self.source_loss(src)
