"""Pure loss functions of tensors. Each is tested against a NumPy reference."""

from dabench.losses.adversarial import domain_adversarial_loss, grad_reverse, grl_coefficient
from dabench.losses.coral import coral_loss
from dabench.losses.entropy import prediction_entropy

__all__ = [
    "coral_loss",
    "domain_adversarial_loss",
    "grad_reverse",
    "grl_coefficient",
    "prediction_entropy",
]
