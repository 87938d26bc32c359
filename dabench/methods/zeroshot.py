"""Zero-shot transfer through a pretrained ImageNet classifier and a WordNet
class map: no training, no source images, no target labels.

For an ImageNet-pretrained backbone that keeps its ImageNet-1k classifier
(``efficientnet_lite0``), the probability of a target class is the softmax mass
of the ImageNet synsets that the pair's class map assigns to it
(``configs/class_maps/<map>.yaml``, WordNet hyponyms):

    p(c | x) = sum_{s in S(c)} softmax(W f(x) + b)_s,   prediction = argmax_c p(c | x)

This is the label-mapping baseline of transfer studies (e.g. Kornblith et al.,
"Do Better ImageNet Models Transfer Better?", CVPR 2019, use fixed ImageNet
features; mapping ImageNet classes onto a target label set is the zero-shot
special case). It shows what ImageNet pretraining alone buys on a pair, and it
runs with the target data only: for ``imagenet2cifar``, CIFAR-10 alone.
"""

from __future__ import annotations

from typing import Any

import torch

from dabench.data.base import Batch
from dabench.errors import UserError
from dabench.home import require_file
from dabench.methods.base import Method, TargetAccess, register


def imagenet_wnids() -> list[str]:
    """ImageNet-1k wnids in class-index order."""
    # Byte-identical to timm 1.0.31's imagenet_synsets.txt (sha256 70002b0f...),
    # the list the class maps were generated from.
    path = require_file("configs", "class_maps/imagenet1k_wnids.txt")
    wnids = path.read_text().split()
    if len(wnids) != 1000 or wnids != sorted(wnids):
        raise RuntimeError(f"{path} must list the 1000 ImageNet-1k wnids in sorted order")
    return wnids


@register
class ZeroShotImageNet(Method):
    name = "zeroshot_imagenet"
    description = (
        "ImageNet classifier of a pretrained backbone, classes merged by a WordNet class map"
    )
    paper = "label-mapping baseline (no training)"
    family = "zero_shot"
    target_access = TargetAccess.NONE
    needs_source_images = False
    trainable = False

    def __init__(self, backbone, num_classes, hp, total_steps, pair=None) -> None:
        super().__init__(backbone, num_classes, hp, total_steps, pair)
        if not hasattr(backbone, "imagenet_logits"):
            raise UserError(
                f"zeroshot_imagenet needs a backbone that keeps its pretrained ImageNet classifier "
                f"(efficientnet_lite0), not {type(backbone).__name__}; pass --set backbone=efficientnet_lite0"
            )
        map_name = getattr(pair, "class_map", None)
        if not map_name:
            raise UserError(
                f"zeroshot_imagenet needs a pair whose source is ImageNet with a class map "
                f"(e.g. imagenet2cifar); {getattr(pair, 'name', pair)!r} has none"
            )
        from dabench.data.class_maps import load_class_map

        cmap = load_class_map(map_name)
        if len(cmap.classes) != num_classes:
            raise RuntimeError(
                f"class map {map_name} has {len(cmap.classes)} classes, the pair {num_classes}"
            )
        index = {w: i for i, w in enumerate(imagenet_wnids())}
        unknown = sorted(set(cmap.source_to_class) - set(index))
        if unknown:
            raise UserError(
                f"class map {map_name}: {', '.join(unknown[:5])} are not ImageNet-1k classes"
            )
        assign = torch.zeros(1000, num_classes)
        for wnid, c in cmap.source_to_class.items():
            assign[index[wnid], c] = 1.0
        self.register_buffer("assign", assign, persistent=False)
        self.eval()

    def train(self, mode: bool = True) -> ZeroShotImageNet:
        # Never trained: batch norm must always use its pretrained statistics.
        return super().train(False)

    def fit(self, support: Any) -> None:
        """Nothing to fit: the ImageNet classifier and the class map are fixed."""

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        probs = torch.softmax(self.backbone.imagenet_logits(x), dim=1)
        # Log of the mapped mass, so downstream softmax-based validators see
        # the renormalised distribution over the target classes.
        return torch.log((probs @ self.assign).clamp_min(1e-12))

    def loss(self, src: Batch, tgt: Batch | None, step: int):
        raise RuntimeError("zeroshot_imagenet is not trained")
