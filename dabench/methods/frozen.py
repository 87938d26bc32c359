"""Shared plumbing of heads on a frozen backbone (not a method itself).

A frozen head is fitted without SGD, never trains its backbone and always runs
it in eval mode (batch norm keeps its pretrained statistics). It reads cached
feature vectors ``(n, D)`` when the run hands it features
(``frozen_features = True``; :mod:`dabench.episode`) and computes them from
images ``(n, C, H, W)`` otherwise, so it also works on raw images.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import Dataset

from dabench.data.base import Batch, dataset_targets, ordered_batches
from dabench.methods.base import Method


class FrozenFeatureHead(Method):
    """Base of heads fitted on frozen features; subclasses implement ``fit``/``predict``."""

    trainable = False
    frozen_features = True
    # Splits whose frozen features the head reads; the others are left empty.
    feature_splits: tuple[str, ...] = ("target_train", "target_test")

    def __init__(self, backbone, num_classes, hp, total_steps, pair=None) -> None:
        super().__init__(backbone, num_classes, hp, total_steps, pair)
        self.eval()

    def train(self, mode: bool = True) -> FrozenFeatureHead:
        return super().train(False)

    @torch.no_grad()
    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Features of images, or the input itself when it already is features."""
        return x.float() if x.ndim == 2 else self.backbone(x).float()

    @torch.no_grad()
    def dataset_features(self, ds: Dataset) -> tuple[torch.Tensor, torch.Tensor]:
        """All features and labels of a (feature or image) dataset, on the head's device."""
        x = getattr(ds, "x", None)
        device = next(iter(self.buffers()), torch.zeros(0)).device
        if x is not None and x.ndim == 2:
            return x.to(device), dataset_targets(ds).to(device)
        dev = next(self.backbone.parameters()).device
        feats = [self.features(Batch(b.x).to(dev).x) for b in ordered_batches(ds, 64)]
        return torch.cat(feats).to(device), dataset_targets(ds).to(device)

    def loss(self, src: Batch, tgt: Batch | None, step: int) -> Any:
        raise RuntimeError(f"{self.name} is fitted, not trained")
