"""Logistic-regression probe on frozen features of the k-shot support set.

The linear-probe protocol of transfer studies (Kornblith, Shlens, Le, "Do
Better ImageNet Models Transfer Better?", CVPR 2019, Sec. 3: L2-regularised
multinomial logistic regression on frozen penultimate features, L-BFGS),
trained on the few labelled target images only:

    min_{W,b}  1/2 ||W||^2 + C sum_{(x,y) in S} -log softmax(W g(x) + b)_y,
    g(x) = f(x) / ||f(x)||

Defaults: scikit-learn's ``LogisticRegression`` with ``C = 1.0``, L-BFGS,
``max_iter = 1000``; features are L2-normalised first (one scale for every
backbone). Deviation: Kornblith et al. tune C on a validation split; with k
images per class there is none to spare, so C stays at its default.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from dabench.methods.base import HParam, TargetAccess, register
from dabench.methods.frozen import FrozenFeatureHead


@register
class FewShotLinear(FrozenFeatureHead):
    name = "fewshot_linear"
    description = "Logistic-regression probe (scikit-learn) on frozen features of the support"
    paper = "linear probe, Kornblith et al., CVPR 2019"
    family = "few_shot"
    target_access = TargetAccess.FEW_SHOT
    needs_source_images = False
    hparams = {
        "C": HParam(1.0, "inverse L2 regularisation strength", low=1e-6),
        "max_iter": HParam(1000, "L-BFGS iterations", low=10),
    }

    def __init__(self, backbone, num_classes, hp, total_steps, pair=None) -> None:
        super().__init__(backbone, num_classes, hp, total_steps, pair)
        self.register_buffer("weight", torch.zeros(num_classes, 0), persistent=False)
        self.register_buffer("bias", torch.full((num_classes,), -1e4), persistent=False)

    def fit(self, support: Any) -> None:
        from sklearn.linear_model import LogisticRegression

        f, y = self.dataset_features(support)
        f = F.normalize(f, dim=1).cpu().double().numpy()
        y = y.cpu().numpy()
        w = torch.zeros(self.num_classes, f.shape[1], dtype=torch.float64)
        b = torch.full((self.num_classes,), -1e4, dtype=torch.float64)
        seen = sorted(set(y.tolist()))
        if len(seen) == 1:  # one class: it always wins
            b[seen[0]] = 0.0
        else:
            clf = LogisticRegression(C=float(self.hp["C"]), max_iter=int(self.hp["max_iter"]))
            clf.fit(f, y)
            coef = torch.from_numpy(clf.coef_)
            icpt = torch.from_numpy(clf.intercept_)
            if len(seen) == 2:  # sklearn keeps one row for two classes: logit of classes_[1]
                coef = torch.cat([torch.zeros_like(coef), coef])
                icpt = torch.cat([torch.zeros_like(icpt), icpt])
            idx = torch.as_tensor(clf.classes_, dtype=torch.long)
            w[idx], b[idx] = coef, icpt
        self.weight = w.float().to(self.bias.device)
        self.bias = b.float().to(self.bias.device)

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        if self.weight.shape[1] == 0:
            raise RuntimeError("fewshot_linear: call fit(support) before predict")
        return F.normalize(self.features(x), dim=1) @ self.weight.T + self.bias
