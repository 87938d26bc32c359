"""CDAN: Long, Cao, Wang, Jordan, "Conditional Adversarial Domain Adaptation",
NeurIPS 2018.

Objective (Eq. 6-7), with the domain discriminator ``D`` conditioned on the
classifier's predictions through the multilinear map ``h = T(f, g)``:

    min_G  E(G) - lambda * E(D, G),   min_D  E(D, G),
    E(D, G) = -E_src log D(T(f_s, g_s)) - E_tgt log(1 - D(T(f_t, g_t)))

``f`` the backbone features, ``g = softmax`` of the classifier (detached
inside the map, as in the authors' code: the domain gradient reaches the
classifier only through ``f``). ``T`` is the multilinear map ``f (x) g``
(Eq. 4) when ``d_f * C <= 4096`` and the randomized map
``(R_f f) * (R_g g) / sqrt(d_out)`` with ``d_out = 1024`` otherwise (Eq. 5,
Sec. 3.2; ``R`` Gaussian, sampled once and kept in the state dict).
pytorch-adapt's ``RandomizedDotProduct`` matches the paper and is used as is.
The domain loss is DANN's per-domain means summed (see
``dabench.losses.conditional``).

As in DANN, one backward pass with a gradient reversal layer in front of ``D``,
coefficient ``2 / (1 + exp(-10 p)) - 1`` (the authors' code, DANN's
schedule); SGD momentum 0.9 with ``lr = 0.01 / (1 + 10 p)^0.75`` (Sec. 4,
"the same learning rate annealing as [Ganin et al.]") is ``train_defaults``.

Defaults: discriminator ``1024-1024-1`` with ReLU and dropout 0.5 (the
authors' ``AdversarialNetwork``), ``lambda = 1``. Search space (trials k > 0):
lr and weight decay from the trainer's ranges; ``weight`` log-uniform in
[0.1, 3] (as dann); discriminator width {256, 512, 1024}; randomized-map
width {512, 1024, 2048}. These ranges are ours (DomainBed has no CDAN; the
paper fixes them).

Deviations: the authors' code normalises the domain loss by the batch total
(half of ours at equal batch sizes) and anneals its reversal coefficient over
a fixed 10,000 iterations; here both follow DANN and the trainer's budget.
The entropy-conditioned variant is ``cdan_e`` (cdan_e.py).
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F

from dabench.data.base import Batch
from dabench.losses import grad_reverse, grl_coefficient
from dabench.losses.conditional import (
    MULTILINEAR_MAX_DIM,
    RandomizedDotProduct,
    entropy_weights,
    multilinear_map,
    weighted_domain_loss,
)
from dabench.methods.base import HParam, Method, TargetAccess, register
from dabench.models.heads import mlp_head
from dabench.search import Choice, LogUniform

HPARAMS = {
    "weight": HParam(1.0, "multiplier of the domain loss", low=0.0, search=LogUniform(0.1, 3.0)),
    "gamma": HParam(10.0, "steepness of the reversal-coefficient schedule", low=0.0),
    "disc_hidden": HParam(
        1024,
        "width of the discriminator's two hidden layers",
        low=1,
        search=Choice((256, 512, 1024)),
    ),
    "random_dim": HParam(
        1024,
        "output width of the randomized multilinear map (used when d * C > 4096)",
        low=1,
        search=Choice((512, 1024, 2048)),
    ),
}


@register
class CDAN(Method):
    name = "cdan"
    description = "Conditional adversarial DA: discriminator on features x predictions"
    paper = "Long et al., NeurIPS 2018"
    family: ClassVar[str] = "adversarial"
    target_access = TargetAccess.UNLABELED
    train_defaults = {"lr": 0.01, "lr_schedule": "anneal"}
    hparams = HPARAMS
    entropy_conditioning: ClassVar[bool] = False

    def __init__(self, backbone, num_classes, hp, total_steps, pair=None) -> None:
        super().__init__(backbone, num_classes, hp, total_steps, pair)
        d = backbone.out_features
        self.randomized = d * num_classes > MULTILINEAR_MAX_DIM
        if self.randomized:
            self.random_map = RandomizedDotProduct([d, num_classes], int(self.hp["random_dim"]))
            in_dim = int(self.hp["random_dim"])
        else:
            in_dim = d * num_classes
        width = int(self.hp["disc_hidden"])
        self.discriminator = mlp_head(in_dim, (width, width), 1, dropout=0.5)

    def conditioned(self, f: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        g = torch.softmax(logits, dim=1).detach()
        return self.random_map(f, g) if self.randomized else multilinear_map(f, g)

    def loss(
        self, src: Batch, tgt: Batch | None, step: int
    ) -> tuple[torch.Tensor, dict[str, float]]:
        assert tgt is not None, f"{self.name} needs unlabeled target batches"
        n = len(src)
        f = self.backbone(torch.cat([src.x, tgt.x]))
        logits = self.classifier(f)
        ce = F.cross_entropy(logits[:n], src.y)
        coeff = grl_coefficient(self.progress(step), float(self.hp["gamma"]))
        d = self.discriminator(grad_reverse(self.conditioned(f, logits), coeff)).squeeze(1)
        w_s = w_t = None
        if self.entropy_conditioning:
            w_s, w_t = entropy_weights(logits[:n]), entropy_weights(logits[n:])
        d_loss = weighted_domain_loss(d[:n], d[n:], w_s, w_t)
        total = ce + float(self.hp["weight"]) * d_loss
        with torch.no_grad():
            d_acc = ((d[:n] > 0).float().sum() + (d[n:] <= 0).float().sum()) / len(d)
        return total, {
            "cls": float(ce.detach()),
            "domain": float(d_loss.detach()),
            "grl": coeff,
            "disc_acc": float(d_acc),
        }
