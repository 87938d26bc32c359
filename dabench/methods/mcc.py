"""MCC: Jin, Wang, Long, Wang, "Minimum Class Confusion for Versatile Domain
Adaptation", ECCV 2020.

Objective (Eq. 8): ``L = CE(source) + lambda * L_MCC(target)``, with the class
confusion of temperature-scaled target predictions ``Y = softmax(z / T)``
(Eq. 1), entropy-based sample weights ``W_ii = n (1 + e^{-H(Y_i)}) / sum_j (1 +
e^{-H(Y_j)})`` (Eq. 2-3), ``C = Y^T W Y`` row-normalised (Eq. 4-5) and ``L_MCC =
(sum_j sum_{j' != j} C_jj') / |C|`` (Eq. 6-7) --
``dabench.losses.regularizers.mcc_loss`` (pytorch-adapt's ``MCCLoss``; it
normalises columns where the paper normalises rows, which gives the same loss
because ``C`` is symmetric).

Defaults from the paper: ``T = 2.5``, ``lambda = 1``. Search (ours; the paper
reports only a sensitivity study around its defaults): ``weight`` log-uniform
in [0.1, 3], ``temperature`` uniform in [1, 5].

Deviations: the paper adds a 256-d bottleneck to ResNet-50 and uses its own lr;
here the backbone's features feed the standard head, and the optimizer,
schedule and budget are the trainer's.
"""

from __future__ import annotations

from dabench.losses.regularizers import mcc_loss
from dabench.methods.base import HParam, register
from dabench.methods.regularized import OutputRegularizer
from dabench.search import LogUniform, Uniform


@register
class MCC(OutputRegularizer):
    name = "mcc"
    description = "Minimum class confusion on target predictions, added to source CE"
    paper = "Jin et al., ECCV 2020"
    hparams = {
        "weight": HParam(
            1.0, "multiplier lambda of the MCC loss", low=0.0, search=LogUniform(0.1, 3.0)
        ),
        "temperature": HParam(2.5, "softmax temperature T", low=1e-3, search=Uniform(1.0, 5.0)),
    }

    @staticmethod
    def term(hp, f_s, f_t, z_s, z_t):
        return mcc_loss(z_t, float(hp["temperature"]))
