"""DANN: Ganin, Ustinova, Ajakan, Germain, Larochelle, Laviolette, Marchand,
Lempitsky, "Domain-Adversarial Training of Neural Networks", JMLR 17(59), 2016.

Objective (Eq. 9-10, realised with a gradient reversal layer, Sec. 4.2):

    min_{G_f, G_y} max_{G_d}  L_y(G_y(G_f(x_s)), y_s) - lambda * L_d(G_d(G_f(x)), d)

One backward pass: the domain classifier ``G_d`` sits behind a gradient
reversal layer with coefficient ``lambda_p = 2 / (1 + exp(-10 p)) - 1`` (Sec.
5.2.2), ``p`` the training progress. The paper's learning-rate annealing
``mu_p = mu_0 / (1 + 10 p)^0.75`` is the trainer's shared ``anneal`` schedule.

Defaults from the paper's digit experiments: domain classifier 100-1 on the
768-d features of the digit CNN (wider for big backbones: 1024-1024-1, as in
its Office experiments). ``weight`` scales the domain loss in the total (1.0 in
the paper: the schedule alone sets its strength).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dabench.data.base import Batch
from dabench.losses import domain_adversarial_loss, grad_reverse, grl_coefficient
from dabench.methods.base import HParam, Method, TargetAccess, register
from dabench.models.heads import mlp_head


@register
class DANN(Method):
    name = "dann"
    description = "Domain-adversarial training: gradient reversal + domain discriminator"
    paper = "Ganin et al., JMLR 2016"
    target_access = TargetAccess.UNLABELED
    hparams = {
        "weight": HParam(1.0, "multiplier of the domain loss", low=0.0),
        "gamma": HParam(10.0, "steepness of the reversal-coefficient schedule", low=0.0),
        "disc_hidden": HParam(100, "width of the domain classifier's hidden layer(s)", low=1),
        "disc_layers": HParam(1, "number of hidden layers in the domain classifier", low=1, high=4),
    }

    def __init__(self, backbone, num_classes, hp, total_steps, pair=None) -> None:
        super().__init__(backbone, num_classes, hp, total_steps, pair)
        hidden = (int(self.hp["disc_hidden"]),) * int(self.hp["disc_layers"])
        self.discriminator = mlp_head(backbone.out_features, hidden, 1)

    def loss(
        self, src: Batch, tgt: Batch | None, step: int
    ) -> tuple[torch.Tensor, dict[str, float]]:
        assert tgt is not None, "dann needs unlabeled target batches"
        f = self.backbone(torch.cat([src.x, tgt.x]))
        ce = F.cross_entropy(self.classifier(f[: len(src)]), src.y)
        coeff = grl_coefficient(self.progress(step), float(self.hp["gamma"]))
        d = self.discriminator(grad_reverse(f, coeff)).squeeze(1)
        d_loss = domain_adversarial_loss(d[: len(src)], d[len(src) :])
        total = ce + float(self.hp["weight"]) * d_loss
        with torch.no_grad():
            d_acc = ((d[: len(src)] > 0).float().sum() + (d[len(src) :] <= 0).float().sum()) / len(
                d
            )
        return total, {
            "cls": float(ce.detach()),
            "domain": float(d_loss.detach()),
            "grl": coeff,
            "disc_acc": float(d_acc),
        }
