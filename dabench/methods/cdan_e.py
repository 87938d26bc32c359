"""CDAN+E: Long, Cao, Wang, Jordan, "Conditional Adversarial Domain
Adaptation", NeurIPS 2018, with entropy conditioning (Sec. 3.3, Eq. 8).

CDAN (cdan.py) with each sample's domain loss weighted by
``w = 1 + exp(-H(g))``, ``H`` the entropy of its softmax prediction, so
confidently predicted (more transferable) samples count more:

    E(D, G) = sum_src w_i L_d^i / sum_src w + sum_tgt w_j L_d^j / sum_tgt w

The weights are normalised per domain, as in the authors' code (TLlib
normalises over the concatenated batch), and detached (pytorch-adapt's
``EntropyWeights`` computes them; see ``dabench.losses.conditional``).
Defaults, schedule, search space and deviations are CDAN's.
"""

from __future__ import annotations

from typing import ClassVar

from dabench.methods.base import register
from dabench.methods.cdan import CDAN


@register
class CDANE(CDAN):
    name = "cdan_e"
    description = "CDAN with entropy conditioning: confident samples weigh more"
    paper = "Long et al., NeurIPS 2018"
    entropy_conditioning: ClassVar[bool] = True
