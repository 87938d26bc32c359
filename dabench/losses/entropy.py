"""Prediction entropy, the quantity behind entropy-based validators."""

from __future__ import annotations

import torch


def prediction_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Mean Shannon entropy (nats) of ``softmax(logits)`` over a batch ``(n, C)``."""
    logp = torch.log_softmax(logits, dim=1)
    return -(logp.exp() * logp).sum(dim=1).mean()
