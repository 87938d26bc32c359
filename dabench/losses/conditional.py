"""Conditional domain-adversarial pieces (Long, Cao, Wang, Jordan, "Conditional
Adversarial Domain Adaptation", NeurIPS 2018).

* the multilinear map ``T(f, g) = f (x) g`` (Eq. 4), the flattened outer
  product of features ``f`` (n, d) and softmax predictions ``g`` (n, C), laid
  out as the authors' code does (class-major: ``g_c * f`` for c = 1..C);
* the randomized multilinear map ``T(f, g) = (R_f f) * (R_g g) / sqrt(d_out)``
  (Eq. 5), with ``R_f``, ``R_g`` Gaussian and sampled once. pytorch-adapt's
  ``RandomizedDotProduct`` implements exactly this (buffers drawn from
  ``torch.randn``, one division by ``d_out^(1/2)`` for two inputs): we use it;
* entropy conditioning (Eq. 8): weights ``w = 1 + exp(-H(g))``, normalised to
  sum 1 within each domain as the authors' code does (TLlib normalises over the
  concatenated batch instead). The weights are detached: they rank samples, they
  are not a path for gradients (TLlib detaches ``g`` as well). pytorch-adapt's
  ``EntropyWeights`` (``1 + exp(-H)``, sum-normalised) computes them;
* the (weighted) domain loss: ``sum_src w_i L_d^i + sum_tgt w_j L_d^j``, which
  with uniform weights is DANN's per-domain-mean loss
  (``dabench.losses.domain_adversarial_loss``). The authors' code divides by the
  weights' total (2), i.e. half this scale; keeping DANN's scale means CDAN's
  ``weight`` means what DANN's does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pytorch_adapt.layers import EntropyWeights, RandomizedDotProduct

# The paper switches to the randomized map when d_f * d_g exceeds 4096 (Sec. 3.2).
MULTILINEAR_MAX_DIM = 4096

_ENTROPY_WEIGHTS = EntropyWeights(after_softmax=False)

__all__ = [
    "MULTILINEAR_MAX_DIM",
    "RandomizedDotProduct",
    "entropy_weights",
    "multilinear_map",
    "weighted_domain_loss",
]


def multilinear_map(f: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Flattened outer products ``(n, C * d)``: row i is ``vec(g_i f_i^T)``."""
    if f.ndim != 2 or g.ndim != 2 or f.shape[0] != g.shape[0]:
        raise ValueError(f"expected (n, d) and (n, C), got {tuple(f.shape)} and {tuple(g.shape)}")
    return (g.unsqueeze(2) * f.unsqueeze(1)).flatten(1)


def entropy_weights(logits: torch.Tensor) -> torch.Tensor:
    """``1 + exp(-H(softmax(logits)))`` per row, normalised to sum 1; detached."""
    return _ENTROPY_WEIGHTS(logits.detach())


def weighted_domain_loss(
    d_src: torch.Tensor,
    d_tgt: torch.Tensor,
    w_src: torch.Tensor | None = None,
    w_tgt: torch.Tensor | None = None,
) -> torch.Tensor:
    """BCE of domain logits (source = 1, target = 0), each domain's terms
    averaged with weights summing to 1 (uniform when None), summed over domains."""
    d_src, d_tgt = d_src.reshape(-1), d_tgt.reshape(-1)
    if d_src.numel() == 0 or d_tgt.numel() == 0:
        raise ValueError("the domain loss needs at least one source and one target sample")
    ls = F.binary_cross_entropy_with_logits(d_src, torch.ones_like(d_src), reduction="none")
    lt = F.binary_cross_entropy_with_logits(d_tgt, torch.zeros_like(d_tgt), reduction="none")
    ws = torch.full_like(ls, 1.0 / len(ls)) if w_src is None else w_src.reshape(-1)
    wt = torch.full_like(lt, 1.0 / len(lt)) if w_tgt is None else w_tgt.reshape(-1)
    return (ws * ls).sum() + (wt * lt).sum()
