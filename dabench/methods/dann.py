"""DANN: Ganin, Ustinova, Ajakan, Germain, Larochelle, Laviolette, Marchand,
Lempitsky, "Domain-Adversarial Training of Neural Networks", JMLR 17(59), 2016.

Objective (Eq. 9-10, realised with a gradient reversal layer, Sec. 4.2):

    min_{G_f, G_y} max_{G_d}  1/n sum_i L_y^i
                              - lambda * (1/n sum_{src} L_d^i + 1/n' sum_{tgt} L_d^i)

The domain term is the mean over the source batch plus the mean over the
target batch, as in the paper (``dabench.losses.domain_adversarial_loss``).

One backward pass: the domain classifier ``G_d`` sits behind a gradient
reversal layer with coefficient ``lambda_p = 2 / (1 + exp(-10 p)) - 1`` (Sec.
5.2.2), ``p`` the training progress. The paper's learning-rate annealing
``mu_p = mu_0 / (1 + 10 p)^0.75`` is the trainer's ``anneal`` schedule, and
``mu_0 = 0.01`` with SGD momentum 0.9 (Sec. 5.2.2) is this method's
``train_defaults``: trial 0 is the paper's setting whatever configs/defaults.yaml
says.

Defaults from the paper's digit experiments: domain classifier 100-1 on the
768-d features of the digit CNN (wider for big backbones: 1024-1024-1, as in
its Office experiments). ``weight`` scales the domain loss in the total (1.0 in
the paper: the schedule alone sets its strength).

Search space (trials k > 0): lr and weight decay from the trainer's shared
ranges; ``weight`` log-uniform in [0.1, 3] (the paper tunes lambda through its
schedule; DomainBed searches 10^U(-2, 2), narrowed here to where the digit
runs neither ignore the domain term nor let it swamp the classifier);
discriminator width {100, 256, 512} and depth {1, 2}. ``gamma`` stays at the
paper's 10.

Deviations: the paper's digit runs use batches of 128 (64 + 64) and tens of
thousands of steps; the budget here is the trainer's (configs/defaults.yaml).
Version 2: per-domain means in the domain loss (v1 took one mean over both
domains, half the paper's domain gradient at equal batch sizes) and the
paper's lr 0.01 as the default.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dabench.data.base import Batch
from dabench.losses import domain_adversarial_loss, grad_reverse, grl_coefficient
from dabench.methods.base import HParam, Method, TargetAccess, register
from dabench.models.heads import mlp_head
from dabench.search import Choice, LogUniform


@register
class DANN(Method):
    name = "dann"
    description = "Domain-adversarial training: gradient reversal + domain discriminator"
    paper = "Ganin et al., JMLR 2016"
    family = "adversarial"
    target_access = TargetAccess.UNLABELED
    version = 2
    train_defaults = {"lr": 0.01, "lr_schedule": "anneal"}
    hparams = {
        "weight": HParam(
            1.0, "multiplier of the domain loss", low=0.0, search=LogUniform(0.1, 3.0)
        ),
        "gamma": HParam(10.0, "steepness of the reversal-coefficient schedule", low=0.0),
        "disc_hidden": HParam(
            100,
            "width of the domain classifier's hidden layer(s)",
            low=1,
            search=Choice((100, 256, 512)),
        ),
        "disc_layers": HParam(
            1,
            "number of hidden layers in the domain classifier",
            low=1,
            high=4,
            search=Choice((1, 2)),
        ),
    }

    def __init__(self, backbone, num_classes, hp, total_steps, pair=None) -> None:
        super().__init__(backbone, num_classes, hp, total_steps, pair)
        hidden = (int(self.hp["disc_hidden"]),) * int(self.hp["disc_layers"])
        self.discriminator = mlp_head(backbone.out_features, hidden, 1)

    def loss(
        self, src: Batch, tgt: Batch | None, step: int
    ) -> tuple[torch.Tensor, dict[str, float | torch.Tensor]]:
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
            "cls": ce.detach(),
            "domain": d_loss.detach(),
            "grl": coeff,
            "disc_acc": d_acc,
        }
