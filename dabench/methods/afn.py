"""AFN (stepwise variant, SAFN): Xu, Li, Yang, Lin, "Larger Norm More
Transferable: An Adaptive Feature Norm Approach for Unsupervised Domain
Adaptation", ICCV 2019.

Objective (Eq. 6): ``L = CE(source) + lambda / (n_s + n_t) sum_{x in S u T}
(||h(x; theta_0)||_2 + Delta_r - ||h(x; theta)||_2)^2``, ``theta_0`` the
parameters of the previous iteration (a detached copy of the current norm), so
every step asks each feature norm to grow by ``Delta_r`` --
``dabench.losses.regularizers.afn_loss`` (pytorch-adapt's
``AdaptiveFeatureNorm``, which matches the paper) on the backbone features of
both domains.

Defaults from the paper: ``lambda = 0.05``, ``Delta_r = 1``. Search (ours,
around those): ``weight`` log-uniform in [0.005, 0.5], ``delta_r`` uniform in
[0.1, 2].

As in the paper's network, the norm is taken on a bottleneck after the
backbone, ``Linear(d, 1000) - BatchNorm1d - ReLU - L2-preserving dropout
(p = 0.5)`` (pytorch-adapt's ``L2PreservedDropout``: dropout rescaled by
``sqrt(1 - p)``), followed by a linear classifier. The BatchNorm matters: on
the raw ReLU features of the digit CNN the norm grows multiplicatively through
the stacked convolutions, and within 300 steps it overflowed float32 and the
network collapsed to one class (measured). Composed (``dann+afn``) the term is
taken on the base method's own features, which carry that risk.

Deviations: optimizer, schedule and budget are the trainer's (the paper:
SGD, lr 1e-3 on the new layers).
"""

from __future__ import annotations

import torch
from pytorch_adapt.layers import L2PreservedDropout
from torch import nn

from dabench.losses.regularizers import afn_loss
from dabench.methods.base import HParam, register
from dabench.methods.regularized import OutputRegularizer
from dabench.search import LogUniform, Uniform


@register
class AFN(OutputRegularizer):
    name = "afn"
    description = "Stepwise adaptive feature norm (SAFN) on source and target features"
    paper = "Xu et al., ICCV 2019"
    hparams = {
        "weight": HParam(
            0.05, "multiplier lambda of the norm loss", low=0.0, search=LogUniform(0.005, 0.5)
        ),
        "bottleneck_dim": HParam(1000, "width of the bottleneck whose norm is adapted", low=1),
        "delta_r": HParam(
            1.0, "norm increase Delta_r asked per step", low=0.0, search=Uniform(0.1, 2.0)
        ),
    }

    def __init__(self, backbone, num_classes, hp, total_steps, pair=None) -> None:
        super().__init__(backbone, num_classes, hp, total_steps, pair)
        dim = int(self.hp["bottleneck_dim"])
        self.bottleneck = nn.Sequential(
            nn.Linear(backbone.out_features, dim),
            nn.BatchNorm1d(dim),
            nn.ReLU(inplace=True),
            L2PreservedDropout(0.5),
        )
        self.classifier = nn.Linear(dim, num_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.bottleneck(self.backbone(x))
        return h, self.classifier(h)

    @staticmethod
    def term(hp, f_s, f_t, z_s, z_t):
        return afn_loss(torch.cat([f_s, f_t]), float(hp["delta_r"]))
