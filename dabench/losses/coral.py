"""Deep CORAL loss (Sun & Saenko, "Deep CORAL: Correlation Alignment for Deep
Domain Adaptation", ECCV 2016 Workshops, Eq. 1):

    l_CORAL = ||C_S - C_T||_F^2 / (4 d^2)

with C the unbiased (1/(n-1)) feature covariance of each batch (Eq. 2-3) and d
the feature dimension. pytorch-adapt's ``CORALLoss`` implements exactly this;
we use it rather than a copy, and test it against a NumPy reference.
"""

from __future__ import annotations

import torch
from pytorch_adapt.layers import CORALLoss

_CORAL = CORALLoss()


def coral_loss(f_s: torch.Tensor, f_t: torch.Tensor) -> torch.Tensor:
    """CORAL distance between source features ``(n_s, d)`` and target ``(n_t, d)``."""
    if f_s.ndim != 2 or f_t.ndim != 2 or f_s.shape[1] != f_t.shape[1]:
        raise ValueError(
            f"expected (n, d) features of equal d, got {tuple(f_s.shape)} and {tuple(f_t.shape)}"
        )
    if f_s.shape[0] < 2 or f_t.shape[0] < 2:
        raise ValueError("CORAL needs at least 2 samples per domain to estimate a covariance")
    return _CORAL(f_s, f_t)
