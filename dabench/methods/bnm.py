"""BNM: Cui, Wang, Zhuo, Li, Huang, Tian, "Towards Discriminability and
Diversity: Batch Nuclear-norm Maximization under Label Insufficient
Situations", CVPR 2020.

Objective (Eq. 9-10): ``L = CE(source) - lambda * ||softmax(z_t)||_* / n``, the
nuclear norm of the target prediction matrix, maximised --
``dabench.losses.regularizers.bnm_loss`` (pytorch-adapt's ``BNMLoss``, which
matches the paper).

Default ``lambda = 1`` (the paper's domain-adaptation setting). Search (ours):
``weight`` log-uniform in [0.1, 3].

Deviations: no bottleneck layer; the optimizer, schedule and budget are the
trainer's.
"""

from __future__ import annotations

from dabench.losses.regularizers import bnm_loss
from dabench.methods.base import HParam, register
from dabench.methods.regularized import OutputRegularizer
from dabench.search import LogUniform


@register
class BNM(OutputRegularizer):
    name = "bnm"
    description = "Batch nuclear-norm maximisation of target predictions, added to source CE"
    paper = "Cui et al., CVPR 2020"
    hparams = {
        "weight": HParam(
            1.0, "multiplier lambda of the BNM loss", low=0.0, search=LogUniform(0.1, 3.0)
        ),
    }

    @staticmethod
    def term(hp, f_s, f_t, z_s, z_t):
        return bnm_loss(z_t)
