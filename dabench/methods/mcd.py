"""MCD: Saito, Watanabe, Ushiku, Harada, "Maximum Classifier Discrepancy for
Unsupervised Domain Adaptation", CVPR 2018.

A generator ``G`` (the backbone) and two classifiers ``F1``, ``F2`` play a
minimax game on the classifiers' discrepancy on target samples,
``d(p1, p2) = 1/K sum_k |p1_k - p2_k|`` (Eq. 1,
``dabench.losses.discrepancy.classifier_discrepancy``). Every training step
takes the paper's three steps (Sec. 3.2):

* A (Eq. 2): ``G``, ``F1``, ``F2`` minimise the source cross-entropy of both
  classifiers;
* B (Eq. 3-4): with ``G`` fixed, ``F1``, ``F2`` minimise
  ``L_s - d(F1(G(x_t)), F2(G(x_t)))`` (source CE minus target discrepancy);
* C (Eq. 5): with ``F1``, ``F2`` fixed, ``G`` minimises the target
  discrepancy, ``num_k`` times on the same batch (``n`` in the paper, 4 in its
  digit experiments and released code).

Two optimizers built by the trainer (``optimizer_groups``): ``"main"`` over
``G`` and ``"classifiers"`` over ``F1`` and ``F2``, both with the trainer's lr,
momentum, weight decay and schedule. Step A steps both.

Prediction: the paper's text does not say which classifier is scored; its
released code reports F1, F2 and their ensemble (the sum of their outputs). We
predict with the ensemble, the mean of the two classifiers' logits (same
argmax as the sum).

Search space (trials k > 0): lr and weight decay from the trainer's ranges;
``num_k`` in {2, 3, 4} (the values the paper compares, Table 1).

Deviations: the paper trains the digit models with Adam (lr 2e-4) for many
epochs; here the trainer's SGD, schedule and budget. A training step costs
2 + num_k forward/backward passes, so MCD takes more compute per step than a
one-loss method under the same step budget (reported in the run's costs).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from dabench.data.base import Batch
from dabench.losses.discrepancy import classifier_discrepancy
from dabench.methods.base import HParam, Method, Optimizers, TargetAccess, check_finite, register
from dabench.models.heads import mlp_head
from dabench.search import Choice


def _step(opts: Optimizers, names: tuple[str, ...], loss: torch.Tensor, step: int) -> None:
    check_finite(loss, step)
    for n in names:
        opts[n].zero_grad(set_to_none=True)
    loss.backward()
    for n in names:
        opts[n].step()


@register
class MCD(Method):
    name = "mcd"
    description = "Maximum classifier discrepancy: two classifiers vs. the generator"
    paper = "Saito et al., CVPR 2018"
    family: ClassVar[str] = "adversarial"
    target_access = TargetAccess.UNLABELED
    hparams = {
        "num_k": HParam(
            4,
            "generator updates (step C) per training step",
            low=1,
            high=10,
            search=Choice((2, 3, 4)),
        ),
    }

    def __init__(self, backbone, num_classes, hp, total_steps, pair=None) -> None:
        super().__init__(backbone, num_classes, hp, total_steps, pair)
        self.classifier2 = mlp_head(backbone.out_features, backbone.head_hidden, num_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.backbone(x)
        return f, (self.classifier(f) + self.classifier2(f)) / 2

    def optimizer_groups(self) -> dict[str, list[dict[str, Any]]]:
        heads = list(self.classifier.parameters()) + list(self.classifier2.parameters())
        return {
            "main": [
                {"params": list(self.backbone.parameters()), "lr_mult": self.backbone.lr_mult}
            ],
            "classifiers": [{"params": heads, "lr_mult": 1.0}],
        }

    def _source_ce(self, f_s: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self.classifier(f_s), y) + F.cross_entropy(self.classifier2(f_s), y)

    def _discrepancy(self, f_t: torch.Tensor) -> torch.Tensor:
        return classifier_discrepancy(self.classifier(f_t), self.classifier2(f_t))

    def train_step(
        self, src: Batch, tgt: Batch | None, step: int, opts: Optimizers
    ) -> tuple[torch.Tensor, dict[str, float]]:
        assert tgt is not None, "mcd needs unlabeled target batches"
        # A: G, F1, F2 on the source labels.
        ce_a = self._source_ce(self.backbone(src.x), src.y)
        _step(opts, ("main", "classifiers"), ce_a, step)
        # B: F1, F2 only (features detached): classify source, disagree on target.
        # Each domain through G on its own, as in steps A and C (and the
        # authors' code): with BatchNorm, batch statistics stay per domain.
        with torch.no_grad():
            f_s, f_t = self.backbone(src.x), self.backbone(tgt.x)
        ce_b = self._source_ce(f_s, src.y)
        disc_b = self._discrepancy(f_t)
        _step(opts, ("classifiers",), ce_b - disc_b, step)
        # C: G only, num_k times: make the classifiers agree on target. The
        # classifiers' gradients computed here are never stepped (step A of the
        # next training step clears them).
        for _ in range(int(self.hp["num_k"])):
            disc_c = self._discrepancy(self.backbone(tgt.x))
            _step(opts, ("main",), disc_c, step)
        return ce_a.detach(), {
            "cls": float(ce_a.detach()),
            "disc_b": float(disc_b.detach()),
            "disc_c": float(disc_c.detach()),
        }
