"""AdaBN: Li, Wang, Shi, Hou, Liu, "Revisiting Batch Normalization For
Practical Domain Adaptation", ICLR 2017 Workshop (arXiv 2016); extended in
Pattern Recognition 80, 2018.

Algorithm 1: train on the source as usual (here exactly ``source_only``'s
cross-entropy); to predict on the target domain, replace every BatchNorm
layer's mean and variance by those of the target images,
``mu_j <- E_{x in T}[x_j]``, ``sigma_j^2 <- Var_{x in T}[x_j]``, keeping the
learnt scale and shift. Nothing else is trained on the target.

Through :meth:`Method.target_eval`: around each evaluation of a target split
the statistics are recomputed, layer by layer in one pass, as the plain
average over ``stat_batches`` unlabeled target-train batches of
``stat_batch_size`` images (a fixed order, the same at every evaluation);
source splits and saved checkpoints keep the source statistics, which are
restored on exit.

Needs a backbone with BatchNorm (``--set backbone=dann_digits_bn`` on the
digit pairs). No hyperparameter of the paper is searched: it has none.
Deviation: the paper averages over the whole target set; here over
``stat_batches x stat_batch_size`` images (6,400 by default), which bounds
evaluation time on large target sets.
"""

from __future__ import annotations

import itertools
from typing import ClassVar

from dabench.methods.base import HParam, TargetAccess, TargetBatches, register
from dabench.methods.source_bn import SourceTrainedBatchNorm
from dabench.models.batchnorm import recomputed_statistics


@register
class AdaBN(SourceTrainedBatchNorm):
    name = "adabn"
    description = "Source training; target BatchNorm statistics at target evaluation"
    paper = "Li et al., ICLR-W 2017 / Pattern Recognition 2018"
    # Unlabeled target images are used, at evaluation only (target_eval).
    target_access = TargetAccess.UNLABELED
    family: ClassVar[str] = "normalization"
    hparams = {
        "stat_batches": HParam(50, "target batches the statistics average over", low=1),
        "stat_batch_size": HParam(128, "images per statistics batch", low=2),
    }

    def target_eval(self, target_batches: TargetBatches):
        batches = target_batches(int(self.hp["stat_batch_size"]))
        xs = (b.x for b in itertools.islice(batches, int(self.hp["stat_batches"])))
        return recomputed_statistics(self, xs)
