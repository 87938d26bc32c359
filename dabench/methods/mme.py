"""MME: Saito, Kim, Sclaroff, Darrell, Saenko, "Semi-supervised Domain
Adaptation via Minimax Entropy", ICCV 2019.

A cosine classifier ``C(h) = W^T h / (||h|| T)`` (Sec. 3.1, temperature T) on
features ``h = F(x)``; the classifier's weight vectors act as class prototypes.
With labelled source, the labelled target support and unlabeled target images
(Eq. 3-5):

    theta_F = argmin_F  L + lambda * H,    theta_C = argmin_C  L - lambda * H,
    L = CE on source and support,   H = -E_{x_u} sum_k p(k|x_u) log p(k|x_u)

so the classifier moves the prototypes towards the unlabeled target (maximises
entropy) while the feature extractor clusters target features around them
(minimises it). As in the paper, one gradient reversal layer between F and C on
the unlabeled batch realises both signs in one backward pass.

Defaults from the paper: ``lambda = 0.1``, ``T = 0.05``, a 512-d embedding
layer after the backbone (their ``Predictor_deep`` bottleneck) trained at the
full learning rate. Deviations: the paper takes two optimizer steps per
iteration (one on L, one on the entropy term); here both terms share one step
of the trainer's shared optimizer. The classifier weights are L2-normalised in
the forward pass (the paper normalises only the features).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dabench.data.base import Batch
from dabench.losses import grad_reverse
from dabench.methods.base import HParam, Method, TargetAccess, register


class CosineClassifier(nn.Module):
    """Logits ``cos(h, w_k) / T``."""

    def __init__(self, in_features: int, num_classes: int, temperature: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(num_classes, in_features) * 0.01)
        self.temperature = temperature

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return F.normalize(h, dim=1) @ F.normalize(self.weight, dim=1).T / self.temperature


@register
class MME(Method):
    name = "mme"
    description = "Minimax entropy: semi-supervised DA with source, support and unlabeled target"
    paper = "Saito et al., ICCV 2019"
    family = "few_shot"
    target_access = TargetAccess.FEW_SHOT
    hparams = {
        "lambda": HParam(0.1, "weight of the minimax entropy term", low=0.0),
        "temperature": HParam(0.05, "temperature T of the cosine classifier", low=1e-4),
        "embed_dim": HParam(512, "width of the embedding layer after the backbone", low=1),
    }

    def __init__(self, backbone, num_classes, hp, total_steps, pair=None) -> None:
        super().__init__(backbone, num_classes, hp, total_steps, pair)
        dim = int(self.hp["embed_dim"])
        self.embed = nn.Linear(backbone.out_features, dim)
        self.classifier = CosineClassifier(dim, num_classes, float(self.hp["temperature"]))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.embed(self.backbone(x))
        return h, self.classifier(h)

    def loss(
        self, src: Batch, tgt: Batch | None, step: int
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        support = getattr(tgt, "support", None)
        assert tgt is not None and support is not None, "mme needs support and unlabeled batches"
        n_l = len(src) + len(support)
        h = self.embed(self.backbone(torch.cat([src.x, support.x, tgt.x])))
        ce = F.cross_entropy(self.classifier(h[:n_l]), torch.cat([src.y, support.y]))
        # -lambda * H through a reversal layer: C descends -lambda*H (maximises
        # entropy), F receives the reversed gradient (minimises it).
        p = torch.softmax(self.classifier(grad_reverse(h[n_l:], 1.0)), dim=1)
        neg_entropy = (p * torch.log(p + 1e-5)).sum(1).mean()
        adent = float(self.hp["lambda"]) * neg_entropy
        return ce + adent, {"cls": ce.detach(), "entropy": -neg_entropy.detach()}
