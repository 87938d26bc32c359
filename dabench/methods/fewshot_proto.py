"""Nearest class prototype by cosine similarity on frozen features.

Snell, Swersky, Zemel, "Prototypical Networks for Few-shot Learning", NeurIPS
2017, Eq. 1-2: a class is represented by the mean of its support embeddings,
``c_k = 1/|S_k| sum_{x in S_k} f(x)``, and a query goes to the nearest
prototype. As in the cosine variants that work best on frozen pretrained
features (Chen et al., "A Closer Look at Few-shot Classification", ICLR 2019;
Wang et al., "SimpleShot", arXiv 2019), features are L2-normalised before
averaging and the distance is cosine:

    logit_k(x) = s * cos(f(x), c_k),   c_k = mean_{x in S_k} f(x) / ||f(x)||

Defaults: ``s = 10`` (a scale only; it changes no prediction). Deviation: no
episodic meta-training of the backbone; the backbone stays as pretrained, which
is the setting this benchmark measures (a frozen model plus a new head).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from dabench.methods.base import HParam, TargetAccess, register
from dabench.methods.frozen import FrozenFeatureHead


@register
class FewShotProto(FrozenFeatureHead):
    name = "fewshot_proto"
    description = "Cosine nearest class prototype on frozen features of the k-shot support"
    paper = "Snell et al., NeurIPS 2017 (cosine prototypes)"
    family = "few_shot"
    target_access = TargetAccess.FEW_SHOT
    needs_source_images = False
    hparams = {"scale": HParam(10.0, "logit scale of the cosine similarity", low=0.0)}

    def __init__(self, backbone, num_classes, hp, total_steps, pair=None) -> None:
        super().__init__(backbone, num_classes, hp, total_steps, pair)
        self.register_buffer("prototypes", torch.zeros(num_classes, 0), persistent=False)
        self.register_buffer(
            "has_support", torch.zeros(num_classes, dtype=torch.bool), persistent=False
        )

    def fit(self, support: Any) -> None:
        """Prototypes = mean normalised support feature of each class."""
        f, y = self.dataset_features(support)
        f = F.normalize(f, dim=1)
        protos = torch.zeros(self.num_classes, f.shape[1], device=f.device)
        protos.index_add_(0, y, f)
        counts = torch.bincount(y, minlength=self.num_classes)
        self.has_support = counts > 0
        self.prototypes = F.normalize(protos / counts.clamp_min(1).unsqueeze(1), dim=1)

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        if self.prototypes.shape[1] == 0:
            raise RuntimeError("fewshot_proto: call fit(support) before predict")
        f = F.normalize(self.features(x), dim=1)
        logits = float(self.hp.get("scale", 10.0)) * f @ self.prototypes.T
        # Classes without support can never win (finite, so validators stay defined).
        return logits.masked_fill(~self.has_support, -1e4)
