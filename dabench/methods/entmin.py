"""Entropy minimisation: Grandvalet & Bengio, "Semi-supervised Learning by
Entropy Minimization", NeurIPS 2004.

Objective (Eq. 4, as a penalty): ``L = CE(source) + lambda * mean_i H(softmax(z_t,i))``
on the unlabeled target batch (``dabench.losses.regularizers.entropy_loss``).

The paper picks ``lambda`` by cross-validation and gives no default; 0.1 here
(as TLlib's entropy baselines), searched log-uniform in [0.01, 1] (ours).
Deviation: the paper's setting is semi-supervised on one distribution; used
here, as in the domain-adaptation literature, with labelled source and
unlabeled target.
"""

from __future__ import annotations

from dabench.losses.regularizers import entropy_loss
from dabench.methods.base import HParam, register
from dabench.methods.regularized import OutputRegularizer
from dabench.search import LogUniform


@register
class EntMin(OutputRegularizer):
    name = "entmin"
    description = "Target entropy minimisation, added to source CE"
    paper = "Grandvalet & Bengio, NeurIPS 2004"
    hparams = {
        "weight": HParam(
            0.1, "multiplier lambda of the entropy", low=0.0, search=LogUniform(0.01, 1.0)
        ),
    }

    @staticmethod
    def term(hp, f_s, f_t, z_s, z_t):
        return entropy_loss(z_t)
