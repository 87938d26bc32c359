"""Shared shape of the output/feature regularisers (MCC, BNM, AFN, BSP, entropy
minimisation): source cross-entropy plus a weighted term on one forward pass
over the source and target batches,

    L = CE(source) + weight * R(f_s, f_t, z_s, z_t),

``f`` the features and ``z`` the logits of :meth:`Method.forward`. Each
regulariser is a subclass that implements :meth:`OutputRegularizer.term` as a
pure function of those tensors and its own hyperparameters, which is what lets
``dabench.methods.compose`` add it to another method (``dann+mcc``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from dabench.data.base import Batch
from dabench.methods.base import Method, TargetAccess


class OutputRegularizer(Method):
    """Source CE + ``weight`` x :meth:`term`. Not registered itself."""

    target_access = TargetAccess.UNLABELED
    family: ClassVar[str] = "regularizer"

    @staticmethod
    def term(
        hp: dict[str, Any],
        f_s: torch.Tensor,
        f_t: torch.Tensor,
        z_s: torch.Tensor,
        z_t: torch.Tensor,
    ) -> torch.Tensor:
        raise NotImplementedError

    @classmethod
    def weighted_term(
        cls, hp: dict[str, Any], f: torch.Tensor, z: torch.Tensor, n_src: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(weight * term, term)`` on features/logits of ``cat([src, tgt])``."""
        r = cls.term(hp, f[:n_src], f[n_src:], z[:n_src], z[n_src:])
        return float(hp["weight"]) * r, r

    def loss(
        self, src: Batch, tgt: Batch | None, step: int
    ) -> tuple[torch.Tensor, dict[str, float]]:
        assert tgt is not None, f"{self.name} needs unlabeled target batches"
        f, z = self(torch.cat([src.x, tgt.x]))
        ce = F.cross_entropy(z[: len(src)], src.y)
        weighted, r = self.weighted_term(self.hp, f, z, len(src))
        return ce + weighted, {"cls": float(ce.detach()), self.name: float(r.detach())}
