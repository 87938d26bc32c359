"""Shared plumbing of the fine-tuning family (not a method itself).

Parameter groups follow the usual fine-tuning recipe (TLlib's
``get_parameters``): the backbone trains at its own ``lr_mult`` (0.1 for
pretrained weights, 1.0 from scratch) and the new head at ``head_lr_mult``
times the backbone's lr when the backbone is pretrained. With the default 10
that is the TLlib ratio, and the head's absolute lr equals the trainer's base
lr, as it always did; backbones trained from scratch keep one lr for
everything, so ``head_lr_mult`` is inert on them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from torch import nn

from dabench.methods.base import HParam, Method

HEAD_LR_MULT = HParam(
    10.0,
    "lr of the new layers relative to a pretrained backbone's (TLlib: 10); "
    "inert for backbones trained from scratch",
    low=1.0,
    # Added to source_only after its records existed; the default reproduces
    # its earlier lrs, so only another value changes the run key.
    hash_default=False,
)


def head_lr_mult(method: Method) -> float:
    """The new layers' lr multiplier (relative to the trainer's base lr)."""
    bb = float(method.backbone.lr_mult)
    return bb * float(method.hp["head_lr_mult"]) if bb < 1.0 else 1.0


def finetune_groups(
    method: Method, backbone_params: Iterable[nn.Parameter]
) -> list[dict[str, Any]]:
    """Groups for the trainer: the given backbone parameters at the backbone's
    ``lr_mult``, every other trainable parameter of ``method`` at the head's."""
    bb = [p for p in backbone_params if p.requires_grad]
    all_bb = {id(p) for p in method.backbone.parameters()}
    rest = [p for p in method.parameters() if id(p) not in all_bb and p.requires_grad]
    groups = []
    if bb:
        groups.append({"params": bb, "lr_mult": float(method.backbone.lr_mult)})
    if rest:
        groups.append({"params": rest, "lr_mult": head_lr_mult(method)})
    return groups


def freeze(modules: Iterable[nn.Module]) -> list[nn.Module]:
    """Stop gradients into ``modules``; returns them, to be kept in eval mode
    (frozen batch norm keeps its statistics) by the method's ``train()``."""
    out = list(modules)
    for m in out:
        m.requires_grad_(False)
    return out
