"""Output and feature regularisers on a batch: MCC, BNM, AFN, BSP, entropy and
information maximisation.

Where pytorch-adapt has a layer that matches the paper it is used (checked
against each paper's equation; see each function); the tests compare every
function with a NumPy reference written from the papers.
"""

from __future__ import annotations

import torch
from pytorch_adapt.layers import AdaptiveFeatureNorm, BNMLoss, MCCLoss
from pytorch_adapt.layers.batch_spectral_loss import batch_spectral_loss

from dabench.losses.entropy import prediction_entropy


def mcc_loss(logits: torch.Tensor, temperature: float = 2.5) -> torch.Tensor:
    """Minimum class confusion (Jin et al., ECCV 2020, Eq. 1-7) on target logits ``(n, C)``.

    ``Y = softmax(logits / T)``; per-sample weights ``W_ii = n (1 + e^{-H(Y_i)}) /
    sum_j (1 + e^{-H(Y_j)})`` (entropy detached); class confusion ``C = Y^T W Y``,
    each row normalised to sum 1; the loss is the off-diagonal mass divided by
    ``C``. pytorch-adapt's ``MCCLoss`` divides column ``j`` by the sum of row ``j``
    where the paper divides row ``j``; ``C`` is symmetric before normalisation,
    so the off-diagonal sum (the loss) is the same.
    """
    return MCCLoss(T=temperature)(logits)


def bnm_loss(logits: torch.Tensor) -> torch.Tensor:
    """Batch nuclear-norm maximisation (Cui et al., CVPR 2020, Eq. 9):
    ``-||softmax(logits)||_* / n`` (pytorch-adapt's ``BNMLoss``, as the paper)."""
    return BNMLoss()(logits)


def afn_loss(features: torch.Tensor, delta_r: float = 1.0) -> torch.Tensor:
    """Stepwise adaptive feature norm (Xu et al., ICCV 2019, Eq. 6):
    ``mean_i (||h_i||_2 - (||h_i||_2.detach() + delta_r))^2``; the detached norm
    is the previous iteration's. pytorch-adapt's ``AdaptiveFeatureNorm``, as the
    paper (its value is always ``delta_r^2``; only its gradient matters)."""
    return AdaptiveFeatureNorm(step_size=delta_r)(features)


def bsp_loss(f_s: torch.Tensor, f_t: torch.Tensor, k: int = 1) -> torch.Tensor:
    """Batch spectral penalization (Chen et al., ICML 2019, Eq. 5): the sum of the
    squared ``k`` largest singular values of the source and of the target feature
    matrices (pytorch-adapt's ``batch_spectral_loss``, as the paper)."""
    return batch_spectral_loss(f_s, k) + batch_spectral_loss(f_t, k)


def entropy_loss(logits: torch.Tensor) -> torch.Tensor:
    """Mean prediction entropy (Grandvalet & Bengio, NeurIPS 2004)."""
    return prediction_entropy(logits)


def diversity_loss(logits: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Negative entropy of the batch-mean prediction, ``sum_k p_k log p_k`` with
    ``p = mean_i softmax(logits_i)``: minimising it spreads predictions over the
    classes (SHOT's diversity term, Liang et al., ICML 2020, Eq. 2)."""
    p = torch.softmax(logits, dim=1).mean(0)
    return (p * torch.log(p + eps)).sum()


def information_maximization_loss(logits: torch.Tensor, diversity: float = 1.0) -> torch.Tensor:
    """SHOT's IM loss (Eq. 2): mean entropy plus ``diversity`` times the negative
    entropy of the mean prediction."""
    return entropy_loss(logits) + diversity * diversity_loss(logits)
