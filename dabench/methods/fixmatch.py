"""FixMatch: Sohn, Berthelot, Li, Zhang, Carlini, Cubuk, Kurakin, Zhang, Raffel,
"FixMatch: Simplifying Semi-Supervised Learning with Consistency and
Confidence", NeurIPS 2020; adapted to unsupervised domain adaptation (labelled
source, unlabelled target), as in later UDA uses of it.

Objective (Sec. 2.2, Eq. 2-4):

    L = 1/n sum_i CE(f(x^s_i), y^s_i)
        + lambda_u * 1/n' sum_j 1[max_c q_jc >= tau] * CE(f(A(x^t_j)), argmax_c q_jc)

with ``q = softmax(f(alpha(x^t)))`` from a weakly augmented view (no gradient)
and ``A`` a strong augmentation. Source, weak and strong target views pass
through the network in one forward pass (the paper concatenates labelled and
unlabelled batches so batch norm sees them together).

Augmentations (:mod:`dabench.data.augment`, on the device, in-batch):
``alpha`` = random translation up to 12.5% (+ horizontal flip when ``flip`` is
on: off by default, as digits are not mirror-symmetric); ``A`` = ``alpha``,
then torchvision.transforms.v2 RandAugment (2 ops, magnitude 9, an
independent draw per eighth of the batch), then Cutout of half the side. The
paper's RandAugment draws magnitudes at random per sample; the source batch is
weakly augmented in the paper and not augmented here, as in every other method.

Defaults from the paper: ``threshold`` tau = 0.95, ``weight`` lambda_u = 1.
Search (paper Sec. 5, ablations over tau and lambda_u): tau uniform in
[0.8, 0.99], lambda_u log-uniform in [0.3, 3]. The paper's optimiser (SGD
Nesterov, lr 0.03, cosine decay, ratio mu = 7 of unlabelled to labelled
images) is not used: the trainer's shared optimizer, schedule and equal batch
sizes apply, so it is compared under the same budget as the other adapters.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dabench.data.augment import strong_augment, weak_augment
from dabench.data.base import Batch
from dabench.losses.self_training import pseudo_label_loss
from dabench.methods.base import HParam, Method, TargetAccess, register
from dabench.search import LogUniform, Uniform


@register
class FixMatch(Method):
    name = "fixmatch"
    description = "Pseudo-labels from weakly augmented target images train on strong augmentations"
    paper = "Sohn et al., NeurIPS 2020"
    family = "self_training"
    target_access = TargetAccess.UNLABELED
    hparams = {
        "threshold": HParam(
            0.95,
            "confidence tau a weak-view prediction needs to become a label",
            low=0.0,
            high=1.0,
            search=Uniform(0.8, 0.99),
        ),
        "weight": HParam(
            1.0, "weight lambda_u of the unlabelled loss", low=0.0, search=LogUniform(0.3, 3.0)
        ),
        "translate": HParam(
            0.125, "largest random translation, fraction of the side", low=0.0, high=0.5
        ),
        "flip": HParam(False, "random horizontal flips in the augmentations (off for digits)"),
        "magnitude": HParam(9, "RandAugment magnitude (0-30)", low=0, high=30),
    }

    def loss(
        self, src: Batch, tgt: Batch | None, step: int
    ) -> tuple[torch.Tensor, dict[str, float]]:
        assert tgt is not None, "fixmatch needs unlabeled target batches"
        translate, flip = float(self.hp["translate"]), bool(self.hp["flip"])
        with torch.no_grad():
            weak = weak_augment(tgt.x, translate, flip)
            strong = strong_augment(
                tgt.x, translate, flip, magnitude=int(self.hp["magnitude"])
            ).contiguous(memory_format=torch.channels_last)
        _, logits = self(torch.cat([src.x, weak, strong]))
        n, m = len(src), len(tgt)
        ce = F.cross_entropy(logits[:n], src.y)
        unsup, mask = pseudo_label_loss(
            logits[n : n + m], logits[n + m :], float(self.hp["threshold"])
        )
        total = ce + float(self.hp["weight"]) * unsup
        return total, {
            "cls": float(ce.detach()),
            "unsup": float(unsup.detach()),
            "mask_rate": float(mask.float().mean()),
        }
