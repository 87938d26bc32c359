"""Domain-adversarial training pieces (Ganin et al., "Domain-Adversarial
Training of Neural Networks", JMLR 17(59), 2016).

* gradient reversal: identity forward, ``-lambda * grad`` backward (Sec. 4.2),
  via pytorch-adapt's ``GradientReversal`` autograd function;
* the domain loss: binary cross-entropy of the domain classifier, source = 1,
  target = 0, as the paper's objective writes it (Eq. 9, Sec. 4): the mean over
  the source samples *plus* the mean over the target samples,
  ``1/n sum_src L_d + 1/n' sum_tgt L_d``. pytorch-adapt's ``DomainLossHook``
  sums the two means as well. (One mean over the concatenated batch is half of
  this when n = n', and weighs the larger domain more when n != n'.);
* the coefficient schedule ``lambda_p = 2 / (1 + exp(-gamma p)) - 1`` with
  ``gamma = 10`` and ``p`` the training progress in [0, 1] (Sec. 5.2.2).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from pytorch_adapt.layers.gradient_reversal import _GradientReversal


def grl_coefficient(progress: float, gamma: float = 10.0) -> float:
    """DANN's schedule for the reversal coefficient; a pure function of progress."""
    p = min(max(progress, 0.0), 1.0)
    return 2.0 / (1.0 + math.exp(-gamma * p)) - 1.0


def grad_reverse(x: torch.Tensor, coeff: float) -> torch.Tensor:
    """Identity in the forward pass; multiplies the gradient by ``-coeff``."""
    return _GradientReversal.apply(x, torch.tensor([coeff], dtype=x.dtype, device=x.device))


def domain_adversarial_loss(d_src: torch.Tensor, d_tgt: torch.Tensor) -> torch.Tensor:
    """Per-domain mean BCE of domain logits, summed over the two domains:
    source ``(n_s,)``/``(n_s, 1)`` labelled 1, target ``(n_t,)``/``(n_t, 1)`` labelled 0."""
    d_src = d_src.reshape(-1)
    d_tgt = d_tgt.reshape(-1)
    if d_src.numel() == 0 or d_tgt.numel() == 0:
        raise ValueError("the domain loss needs at least one source and one target sample")
    return F.binary_cross_entropy_with_logits(
        d_src, torch.ones_like(d_src)
    ) + F.binary_cross_entropy_with_logits(d_tgt, torch.zeros_like(d_tgt))
