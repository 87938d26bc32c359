"""Tent: Wang, Shelhamer, Liu, Olshausen, Darrell, "Tent: Fully Test-Time
Adaptation by Entropy Minimization", ICLR 2021.

Train on the source as usual (``source_only``'s cross-entropy). At test time
(Sec. 3): BatchNorm normalises with the statistics of the test batch, and only
the BatchNorm affine parameters ``gamma, beta`` are updated by minimising the
prediction entropy ``H(y) = -sum_c p(y_c) log p(y_c)`` of unlabeled target
batches (Eq. 1-2); everything else stays frozen.

Through :meth:`Method.target_eval`: around each evaluation of a target split,
``steps`` Adam steps (lr ``tent_lr``) on the entropy of unlabeled target-train
batches of ``tent_batch_size`` images (a fixed order, the same at every
evaluation), then prediction with batch statistics; on exit the whole model
(parameters, statistics, modes) is restored, so source evaluations, saved
checkpoints and the next evaluation see the source-trained model, and an
evaluation is a function of the checkpoint alone. Target labels are never
read: the batches carry none.

Defaults from the paper's digit/CIFAR setting: Adam, lr 1e-3, batch 128.
``steps`` (10) replaces the paper's single online pass over the test stream;
search (ours): ``tent_lr`` log-uniform in [1e-4, 1e-2], ``steps`` in {1, 10, 50}.
Deviations: the paper adapts online on the very test batches it predicts;
here it adapts on target-train batches and predicts target val/test with
batch statistics (of evaluation batches), so no test image is both adapted on
and predicted. Needs a backbone with BatchNorm (``--set
backbone=dann_digits_bn``). The Adam optimizer is built here because it
exists only inside an evaluation, outside the trainer's budget.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar

import torch

from dabench.data.base import Batch
from dabench.losses.regularizers import entropy_loss
from dabench.methods.base import HParam, TargetAccess, TargetBatches, register
from dabench.methods.source_bn import SourceTrainedBatchNorm
from dabench.models.batchnorm import batch_statistics, batchnorm_layers
from dabench.search import Choice, LogUniform


@register
class Tent(SourceTrainedBatchNorm):
    name = "tent"
    description = "Source training; test-time entropy minimisation on BatchNorm affine parameters"
    paper = "Wang et al., ICLR 2021"
    # Unlabeled target images are used, at evaluation only (target_eval).
    target_access = TargetAccess.UNLABELED
    family: ClassVar[str] = "test_time"
    hparams = {
        "steps": HParam(
            10, "test-time Adam steps per evaluation", low=0, search=Choice((1, 10, 50))
        ),
        "tent_lr": HParam(
            1e-3, "test-time Adam learning rate", low=0.0, search=LogUniform(1e-4, 1e-2)
        ),
        "tent_batch_size": HParam(128, "images per test-time batch", low=2),
    }

    @contextmanager
    def target_eval(self, target_batches: TargetBatches) -> Iterator[None]:
        state = copy.deepcopy(self.state_dict())
        was_training = self.training
        flags = [p.requires_grad for p in self.parameters()]
        try:
            self.adapt(target_batches(int(self.hp["tent_batch_size"])))
            with batch_statistics(self):
                yield
        finally:
            for p, f in zip(self.parameters(), flags, strict=True):
                p.requires_grad_(f)
            self.load_state_dict(state)
            self.train(was_training)

    def adapt(self, batches: Iterator[Batch]) -> list[float]:
        """Tent's update on ``steps`` batches; returns the entropy before each step."""
        affine = [p for bn in batchnorm_layers(self) for p in (bn.weight, bn.bias) if p is not None]
        for p in self.parameters():
            p.requires_grad_(False)
        for p in affine:
            p.requires_grad_(True)
        opt = torch.optim.Adam(affine, lr=float(self.hp["tent_lr"]), betas=(0.9, 0.999))
        self.eval()
        for bn in batchnorm_layers(self):
            bn.train()  # normalise with target batch statistics while adapting
        seen = []
        with torch.enable_grad():
            for b in itertools.islice(batches, int(self.hp["steps"])):
                h = entropy_loss(self(b.x)[1])
                opt.zero_grad(set_to_none=True)
                h.backward()
                opt.step()
                seen.append(float(h.detach()))
        self.eval()
        return seen
