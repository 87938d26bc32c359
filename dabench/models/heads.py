"""Classifier and discriminator heads built from a backbone's real feature size."""

from __future__ import annotations

from torch import nn


def mlp_head(
    in_features: int, hidden: tuple[int, ...], out_features: int, dropout: float = 0.0
) -> nn.Sequential:
    """``in -> hidden... -> out`` with ReLU (and optional dropout) between layers."""
    layers: list[nn.Module] = []
    d = in_features
    for h in hidden:
        layers += [nn.Linear(d, h), nn.ReLU(inplace=True)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        d = h
    layers.append(nn.Linear(d, out_features))
    return nn.Sequential(*layers)
