"""BatchNorm helpers for the methods that adapt normalisation (AdaBN, Tent, SHOT)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from dabench.errors import UserError


def batchnorm_layers(module: nn.Module) -> list[_BatchNorm]:
    return [m for m in module.modules() if isinstance(m, _BatchNorm)]


def require_batchnorm(module: nn.Module, method: str) -> None:
    """A user error when a BatchNorm-adapting method gets a network without BatchNorm."""
    if not batchnorm_layers(module):
        raise UserError(
            f"{method} adapts BatchNorm layers but this backbone has none; "
            "use one with BatchNorm, e.g. --set backbone=dann_digits_bn"
        )


@contextmanager
def recomputed_statistics(model: nn.Module, batches: Iterator[torch.Tensor]) -> Iterator[None]:
    """Within the block, every BatchNorm's running mean and variance are the
    plain averages over ``batches`` (cumulative, ``momentum=None``) of ``model``'s
    inputs; everything else, and the training flags, as before. On exit the
    original statistics are restored exactly."""
    bns = batchnorm_layers(model)
    saved = [
        (
            bn.running_mean.clone(),
            bn.running_var.clone(),
            bn.num_batches_tracked.clone(),
            bn.momentum,
        )
        for bn in bns
    ]
    was_training = model.training
    try:
        model.eval()  # dropout off; only the BatchNorm layers collect statistics
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None
            bn.train()
        with torch.no_grad():
            for x in batches:
                model(x)
        model.train(was_training)
        yield
    finally:
        for bn, (mean, var, n, momentum) in zip(bns, saved, strict=True):
            bn.running_mean.copy_(mean)
            bn.running_var.copy_(var)
            bn.num_batches_tracked.copy_(n)
            bn.momentum = momentum
        model.train(was_training)


@contextmanager
def batch_statistics(model: nn.Module) -> Iterator[None]:
    """Within the block, every BatchNorm normalises with the statistics of the
    batch it sees, also in eval mode (Tent's prediction rule); restored on exit."""
    bns = batchnorm_layers(model)
    saved = [(bn.running_mean, bn.running_var, bn.track_running_stats) for bn in bns]
    try:
        for bn in bns:
            # No running statistics: _BatchNorm.forward uses batch statistics.
            bn.track_running_stats = False
            bn.running_mean = None
            bn.running_var = None
        yield
    finally:
        for bn, (mean, var, track) in zip(bns, saved, strict=True):
            bn.running_mean, bn.running_var, bn.track_running_stats = mean, var, track
