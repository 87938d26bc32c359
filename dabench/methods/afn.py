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

Deviations: the paper applies the norm to a 1000-d bottleneck with its
L2-preserving dropout; here it is the backbone's features, without that
dropout; optimizer, schedule and budget are the trainer's.
"""

from __future__ import annotations

import torch

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
        "delta_r": HParam(
            1.0, "norm increase Delta_r asked per step", low=0.0, search=Uniform(0.1, 2.0)
        ),
    }

    @staticmethod
    def term(hp, f_s, f_t, z_s, z_t):
        return afn_loss(torch.cat([f_s, f_t]), float(hp["delta_r"]))
