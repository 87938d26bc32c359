"""Self-training losses: confidence-thresholded pseudo-labels and the ramp of
their weight. Pure functions of tensors and of training progress."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def pseudo_label_loss(
    logits_label: torch.Tensor, logits_train: torch.Tensor, threshold: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy of ``logits_train`` on the hard pseudo-labels of
    ``logits_label``, counted only where their confidence reaches ``threshold``.

    ``loss = 1/n sum_i 1[max_c p_ic >= tau] * CE(logits_train_i, argmax_c p_ic)``
    with ``p = softmax(logits_label)`` taken without gradient (FixMatch, Sohn et
    al. 2020, Eq. 4: the mean runs over the whole batch, masked samples count
    as zero). Lee (2013) is the case ``logits_label is logits_train``.

    Returns the loss and the mask ``(n,)`` of samples that got a pseudo-label.
    """
    with torch.no_grad():
        conf, labels = torch.softmax(logits_label.detach().float(), dim=1).max(dim=1)
        mask = conf >= threshold
    ce = F.cross_entropy(logits_train, labels, reduction="none")
    return (ce * mask.to(ce.dtype)).mean(), mask


def ramp_weight(progress: float, start: float, end: float, final: float) -> float:
    """Lee (2013), Eq. 16: 0 before ``start``, linear up to ``final`` at ``end``,
    then ``final``; ``start``/``end`` as fractions of training."""
    if progress < start:
        return 0.0
    if progress >= end or end <= start:
        return float(final)
    return float(final) * (progress - start) / (end - start)
