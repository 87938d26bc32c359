"""Partial fine-tuning: only the last ``k`` blocks of the backbone (and the new
head) train; the earlier blocks are frozen.

Yosinski, Clune, Bengio, Lipson, "How transferable are features in deep neural
networks?", NeurIPS 2014 (Sec. 4: copying the first ``n`` layers and freezing
or fine-tuning them): minimise the source cross-entropy
``1/n sum_i CE(C(G(x_i)), y_i)`` over the head ``C`` and the last ``k`` blocks of
``G`` only.

A "block" is what :meth:`dabench.models.backbones.Backbone.blocks` returns: for
the digit CNNs each conv (or linear) layer with the normalisation after it
(``dann_digits``: 2 blocks; ``lenet``: 3), for ResNets the stem and the four
stages, for EfficientNet-Lite0 the stem, each MBConv block and the head conv.
``k`` larger than the number of blocks fine-tunes them all (= ``source_only``).
Frozen blocks run in eval mode (batch norm keeps its statistics).

Hyperparameters: ``trainable_blocks`` k = 1, searched over {1, 2, 3} (the
paper sweeps the split point layer by layer; three covers a digit CNN fully and
the last three stages of a ResNet); ``head_lr_mult`` as in ``source_only``
(10x a pretrained backbone's lr, TLlib's convention, not searched).
"""

from __future__ import annotations

import torch

from dabench.data.base import Batch
from dabench.methods.base import HParam, Method, TargetAccess, register
from dabench.methods.finetuning import HEAD_LR_MULT, finetune_groups, freeze
from dabench.search import Choice


@register
class FinetunePartial(Method):
    name = "finetune_partial"
    description = "Fine-tune only the last k backbone blocks and the head on source labels"
    paper = "Yosinski et al., NeurIPS 2014"
    family = "finetune"
    target_access = TargetAccess.NONE
    hparams = {
        "trainable_blocks": HParam(
            1, "backbone blocks trained, counted from the output", low=0, search=Choice((1, 2, 3))
        ),
        "head_lr_mult": HEAD_LR_MULT,
    }

    def __init__(self, backbone, num_classes, hp, total_steps, pair=None) -> None:
        super().__init__(backbone, num_classes, hp, total_steps, pair)
        blocks = backbone.blocks()
        k = min(int(self.hp["trainable_blocks"]), len(blocks))
        self.n_blocks = len(blocks)
        self._trainable = blocks[len(blocks) - k :]
        self._frozen = freeze(blocks[: len(blocks) - k])

    def train(self, mode: bool = True):
        super().train(mode)
        for m in self._frozen:
            m.eval()
        return self

    def param_groups(self):
        return finetune_groups(self, (p for b in self._trainable for p in b.parameters()))

    def loss(
        self, src: Batch, tgt: Batch | None, step: int
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return self.source_loss(src)
