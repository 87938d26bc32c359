"""Classifier-discrepancy losses.

* MCD (Saito, Watanabe, Ushiku, Harada, "Maximum Classifier Discrepancy for
  Unsupervised Domain Adaptation", CVPR 2018, Eq. 1): the discrepancy of two
  classifiers' probability outputs ``d(p1, p2) = 1/K sum_k |p1_k - p2_k|``,
  averaged over the batch. pytorch-adapt's ``MCDLoss`` (L1 of the softmaxes,
  mean over samples and classes) is exactly this; we use it.
* MDD (Zhang, Liu, Long, Jordan, "Bridging Theory and Algorithm for Domain
  Adaptation", ICML 2019, Sec. 5, the objective after Eq. 29 with the
  surrogate losses of Sec. 5.1):

      D_gamma = E_tgt log(1 - sigma_{h_f(x)}(f'(x))) - gamma * E_src CE(f'(x), h_f(x))

  with ``h_f(x) = argmax f(x)`` the main classifier's prediction (no gradient
  through it) and ``f'`` the auxiliary (adversarial) classifier. ``f'``
  maximises ``D_gamma`` (agree with ``f`` on source, disagree on target); the
  features minimise it. TLlib's ``ClassificationMarginDisparityDiscrepancy``
  returns the same ``D_gamma`` (its ``shift_log`` adds 1e-6 inside the log);
  pytorch-adapt has no MDD layer. ``log(1 - sigma_k(z))`` is computed exactly
  as ``logsumexp_{j != k} z_j - logsumexp_j z_j``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pytorch_adapt.layers import MCDLoss

_MCD = MCDLoss()


def classifier_discrepancy(logits1: torch.Tensor, logits2: torch.Tensor) -> torch.Tensor:
    """MCD's ``mean_i 1/K sum_k |p1_ik - p2_ik|`` of two ``(n, K)`` logit batches."""
    if logits1.shape != logits2.shape or logits1.ndim != 2:
        raise ValueError(f"expected two (n, K) batches, got {logits1.shape} and {logits2.shape}")
    return _MCD(logits1, logits2)


def log_one_minus_softmax(logits: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``log(1 - softmax(logits)[i, index_i])`` per row, without cancellation."""
    mask = F.one_hot(index, logits.shape[1]).bool()
    others = torch.logsumexp(logits.masked_fill(mask, float("-inf")), dim=1)
    return others - torch.logsumexp(logits, dim=1)


def margin_disparity_discrepancy(
    y_s: torch.Tensor,
    y_s_adv: torch.Tensor,
    y_t: torch.Tensor,
    y_t_adv: torch.Tensor,
    margin: float = 4.0,
) -> torch.Tensor:
    """``D_gamma`` from the main head's logits ``y`` and the adversarial head's
    ``y_adv`` on source ``(n_s, C)`` and target ``(n_t, C)`` batches."""
    h_s = y_s.detach().argmax(1)
    h_t = y_t.detach().argmax(1)
    src = F.cross_entropy(y_s_adv, h_s)
    tgt = log_one_minus_softmax(y_t_adv, h_t).mean()
    return tgt - margin * src
