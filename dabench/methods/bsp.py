"""BSP: Chen, Wang, Long, Wang, "Transferability vs. Discriminability: Batch
Spectral Penalization for Adversarial Domain Adaptation", ICML 2019.

Objective (Eq. 5, the penalty added to a base method's loss):
``L_bsp = beta * sum_{i=1..k} (sigma_{s,i}^2 + sigma_{t,i}^2)``, the ``k``
largest singular values of the source and of the target feature matrices --
``dabench.losses.regularizers.bsp_loss`` (pytorch-adapt's
``batch_spectral_loss``, which matches the paper).

Defaults from the paper: ``beta = 1e-4``, ``k = 1``. Alone (``bsp``) it is
added to source CE; the paper adds it to DANN or CDAN, i.e. ``dann+bsp``
(see ``dabench.methods.compose``). Search (ours, around the paper's values):
``weight`` log-uniform in [1e-5, 1e-3], ``k`` in {1, 2, 3}.

Deviations: features are the backbone's, no bottleneck; optimizer, schedule
and budget are the trainer's.

Measured caution: on the plain ``dann_digits`` CNN at initialisation the
penalty's gradient on the backbone is ~30x the cross-entropy's even at
``beta = 1e-4`` (the ReLU features share one dominant direction, so
``sigma_1^2 ~ n ||mean f||^2`` is large); in a 300-step mnist2digits run the
features shrank and the model stayed near chance (source val 34%, target
10%). On ``dann_digits_bn`` the same run learns (source val 94%, target 67%).
"""

from __future__ import annotations

from dabench.losses.regularizers import bsp_loss
from dabench.methods.base import HParam, register
from dabench.methods.regularized import OutputRegularizer
from dabench.search import Choice, LogUniform


@register
class BSP(OutputRegularizer):
    name = "bsp"
    description = "Batch spectral penalization of the largest singular values of the features"
    paper = "Chen et al., ICML 2019"
    hparams = {
        "weight": HParam(
            1e-4, "multiplier beta of the penalty", low=0.0, search=LogUniform(1e-5, 1e-3)
        ),
        "k": HParam(
            1, "number of largest singular values penalised", low=1, search=Choice((1, 2, 3))
        ),
    }

    @staticmethod
    def term(hp, f_s, f_t, z_s, z_t):
        return bsp_loss(f_s, f_t, int(hp["k"]))
