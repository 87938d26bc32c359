"""SHOT: Liang, Hu, Feng, "Do We Really Need to Access the Source Data? Source
Hypothesis Transfer for Unsupervised Domain Adaptation", ICML 2020.

Two stages under the trainer's one budget, split by training progress:

1. ``progress <= source_fraction``: the source model, cross-entropy with label
   smoothing ``alpha`` (Eq. 1) on labelled source batches.
2. Afterwards: the hypothesis (the classifier head) is frozen and only the
   feature extractor is trained, on unlabeled target batches alone (no source
   data), with information maximisation (Eq. 2: mean prediction entropy plus
   ``diversity`` x the negative entropy of the batch-mean prediction) plus
   ``beta`` x cross-entropy to self-supervised pseudo-labels (Eq. 3-6):
   centroids ``c_k = sum_x p_k(x) f(x) / sum_x p_k(x)``, labels by nearest
   centroid in cosine distance, then one refinement with hard labels.

Centroids are recomputed every ``centroid_every`` stage-2 steps (a function
of ``step``) from the target features and predictions of the batches seen
since the last recomputation (the paper recomputes them over the whole target
set each epoch; the trainer hands a method only batches); in between, each
batch is labelled by its nearest current centroid.

Defaults from the paper: ``alpha = 0.1``, ``beta = 0.3``, ``diversity = 1``.
``source_fraction = 0.5`` and ``centroid_every = 50`` are ours. Search (ours):
``beta`` uniform in [0.1, 0.5], ``source_fraction`` uniform in [0.3, 0.7].
Deviations: no bottleneck or weight-normalised classifier (the standard head
is frozen instead); one optimizer and schedule across both stages (the
trainer's). Needs a backbone with BatchNorm (``--set backbone=dann_digits_bn``),
whose statistics move to the target in stage 2.
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch.func import functional_call

from dabench.data.base import Batch
from dabench.losses.regularizers import diversity_loss, entropy_loss
from dabench.methods.base import HParam, Method, TargetAccess, register
from dabench.models.batchnorm import require_batchnorm
from dabench.search import Uniform


def cosine_centroid_labels(f: torch.Tensor, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """SHOT's Eq. 4-6: soft centroids from predictions ``p``, nearest-centroid
    labels (cosine), hard centroids, labels again. Returns ``(centroids, labels)``."""
    f = F.normalize(f, dim=1)
    c = (p.T @ f) / (p.sum(0)[:, None] + 1e-8)
    labels = (f @ F.normalize(c, dim=1).T).argmax(1)
    hard = F.one_hot(labels, p.shape[1]).float()
    present = hard.sum(0) > 0  # a class no sample chose keeps its soft centroid
    c = torch.where(present[:, None], (hard.T @ f) / hard.sum(0).clamp_min(1)[:, None], c)
    return c, (f @ F.normalize(c, dim=1).T).argmax(1)


@register
class SHOT(Method):
    name = "shot"
    description = "Source hypothesis transfer: frozen head, target-only information maximisation"
    paper = "Liang et al., ICML 2020"
    target_access = TargetAccess.UNLABELED
    family: ClassVar[str] = "source_free"
    # A regulariser on source and target batches would break both stages' rules.
    composable: ClassVar[bool] = False
    composable_reason: ClassVar[str] = (
        "trains on target data alone with a frozen head in its second stage; "
        "a regulariser over source and target batches has no place in it"
    )
    hparams = {
        "source_fraction": HParam(
            0.5,
            "fraction of the budget spent on the source stage",
            low=0.0,
            high=1.0,
            search=Uniform(0.3, 0.7),
        ),
        "label_smoothing": HParam(
            0.1, "label smoothing alpha of the source stage", low=0.0, high=1.0
        ),
        "beta": HParam(
            0.3, "weight of the pseudo-label cross-entropy", low=0.0, search=Uniform(0.1, 0.5)
        ),
        "diversity": HParam(1.0, "weight of the diversity term of the IM loss", low=0.0),
        "centroid_every": HParam(50, "stage-2 steps between centroid recomputations", low=1),
    }

    def __init__(self, backbone, num_classes, hp, total_steps, pair=None) -> None:
        super().__init__(backbone, num_classes, hp, total_steps, pair)
        require_batchnorm(self, self.name)
        self.register_buffer("centroids", torch.zeros(num_classes, backbone.out_features))
        self._bank: list[tuple[torch.Tensor, torch.Tensor]] = []

    def stage2_index(self, step: int) -> int:
        """Steps since the target stage began; negative during the source stage."""
        return step - math.floor(float(self.hp["source_fraction"]) * self.total_steps) - 1

    def loss(
        self, src: Batch, tgt: Batch | None, step: int
    ) -> tuple[torch.Tensor, dict[str, float]]:
        i = self.stage2_index(step)
        if i < 0:
            _, logits = self(src.x)
            ce = F.cross_entropy(logits, src.y, label_smoothing=float(self.hp["label_smoothing"]))
            return ce, {"cls": float(ce.detach()), "stage": 1.0}
        assert tgt is not None, "shot needs unlabeled target batches"
        f = self.backbone(tgt.x)
        # The hypothesis is frozen: its parameters enter as constants.
        frozen = {k: v.detach() for k, v in self.classifier.named_parameters()}
        logits = functional_call(self.classifier, frozen, (f,))
        with torch.no_grad():
            p = torch.softmax(logits, dim=1)
            self._bank.append((f.detach(), p))
            if i % int(self.hp["centroid_every"]) == 0:
                fs, ps = (torch.cat(t) for t in zip(*self._bank, strict=True))
                self.centroids.copy_(cosine_centroid_labels(fs, ps)[0])
                self._bank = []
            pseudo = (F.normalize(f.detach(), dim=1) @ F.normalize(self.centroids, dim=1).T).argmax(
                1
            )
        ent, div = entropy_loss(logits), diversity_loss(logits)
        pl = F.cross_entropy(logits, pseudo)
        total = ent + float(self.hp["diversity"]) * div + float(self.hp["beta"]) * pl
        return total, {
            "entropy": float(ent.detach()),
            "diversity": float(div.detach()),
            "pseudo": float(pl.detach()),
            "stage": 2.0,
        }
