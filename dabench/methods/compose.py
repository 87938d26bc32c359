"""Composition: a method plus a regulariser, named ``base+reg`` (``dann+mcc``,
``dann+bsp``, ``dann+mcc+bsp``), as the papers combine them (MCC and BSP are
reported on top of DANN/CDAN).

``METHODS.get("dann+mcc")`` builds (once) a subclass of the base method whose

- loss is the base's total plus ``weight * term`` of the regulariser (a
  subclass of :class:`~dabench.methods.regularized.OutputRegularizer`),
  evaluated on ``forward(cat([src, tgt]))``: one extra forward pass, so the
  base method's own code is untouched;
- hyperparameters are the base's plus the regulariser's prefixed with its
  name (``mcc.weight``, ``mcc.temperature``), each searched as declared;
- name in records is ``dann+mcc``; the version combines both versions, so a
  change to either reruns the composition.

A base that steps its own optimizers (it overrides ``train_step``) has no
single loss to extend: asking for it is a user error, as is a part after the
``+`` that is not a regulariser.
"""

from __future__ import annotations

from typing import Any

import torch

from dabench.data.base import Batch
from dabench.errors import UserError
from dabench.methods.base import Method, TargetAccess
from dabench.methods.regularized import OutputRegularizer
from dabench.registry import Registry

_COMPOSED: dict[str, type[Method]] = {}


def regularizer_names(registry: Registry[type[Method]]) -> list[str]:
    return [n for n, c in registry.items() if issubclass(c, OutputRegularizer)]


def compose(registry: Registry[type[Method]], name: str) -> type[Method]:
    """The composed method class for ``base+reg`` (``base`` may itself be composed)."""
    if name in _COMPOSED:
        return _COMPOSED[name]
    head, _, reg_name = name.rpartition("+")
    if not head or not reg_name:
        raise UserError(f"method {name!r}: write a composition as base+regulariser, e.g. dann+mcc")
    base = registry.get(head)
    reg = registry.get(reg_name)
    if not issubclass(reg, OutputRegularizer):
        raise UserError(
            f"cannot compose {name!r}: {reg_name!r} is not a regulariser; after '+' use one of "
            f"{', '.join(regularizer_names(registry))}"
        )
    if not base.trainable or base.train_step is not Method.train_step:
        raise UserError(
            f"cannot compose {name!r}: {head!r} has no single training loss to add a regulariser to "
            f"(it {'is fitted without SGD' if not base.trainable else 'steps its own optimizers'})"
        )
    if not getattr(base, "composable", True):
        raise UserError(f"cannot compose {name!r}: {head!r} {base.composable_reason}")
    extra = {f"{reg.name}.{k}": v for k, v in reg.hparams.items()}
    if set(extra) & set(base.hparams):
        raise UserError(f"cannot compose {name!r}: {reg_name!r} appears twice")
    prefix = f"{reg.name}."

    def loss(
        self: Method, src: Batch, tgt: Batch | None, step: int
    ) -> tuple[torch.Tensor, dict[str, float]]:
        assert tgt is not None, f"{name} needs unlabeled target batches"
        total, parts = base.loss(self, src, tgt, step)
        f, z = self(torch.cat([src.x, tgt.x]))
        hp = {k[len(prefix) :]: v for k, v in self.hp.items() if k.startswith(prefix)}
        weighted, r = reg.weighted_term(hp, f, z, len(src))
        return total + weighted, {**parts, reg.name: float(r.detach())}

    attrs: dict[str, Any] = {
        "__module__": __name__,
        "__doc__": f"{base.name} with the {reg.name} regulariser added to its loss.",
        "name": name,
        "description": f"{base.description}, plus {reg.name}",
        "paper": f"{base.paper}; {reg.paper}",
        "target_access": TargetAccess.UNLABELED
        if base.target_access == TargetAccess.NONE
        else base.target_access,
        "hparams": {**base.hparams, **extra},
        "version": base.version * 1000 + reg.version,
        "family": getattr(base, "family", reg.family),
        "loss": loss,
    }
    cls = type(name.replace("+", "_plus_"), (base,), attrs)
    _COMPOSED[name] = cls
    return cls
