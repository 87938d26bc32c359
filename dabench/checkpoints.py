"""The best checkpoint of each selection rule, kept on the CPU.

Every rule is scored at every evaluation; the rules that chose the same step
share one copy of that step's weights, a copy lives on the CPU (GPU memory
holds only the model being trained) and is dropped as soon as no rule holds
it any longer.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn


def cpu_state(module: nn.Module) -> dict[str, Any]:
    """A copy of ``module``'s state dict with every tensor on the CPU."""
    return {
        k: v.detach().to("cpu", copy=True) if isinstance(v, torch.Tensor) else copy.deepcopy(v)
        for k, v in module.state_dict().items()
    }


class BestCheckpoints:
    """Each rule's best ``(step, score)`` and one shared CPU state per chosen step.

    A score that ties the rule's best replaces it: the latest checkpoint on
    ties, i.e. the most trained one.
    """

    def __init__(self) -> None:
        self.chosen: dict[str, tuple[int, float]] = {}
        self.states: dict[int, dict[str, Any]] = {}

    def offer(self, rule: str, step: int, score: float, module: nn.Module) -> bool:
        """Record ``module`` at ``step`` as ``rule``'s best if ``score`` is at
        least the best so far; True when it was."""
        prev = self.chosen.get(rule)
        if prev is not None and score < prev[1]:
            return False
        if step not in self.states:
            self.states[step] = cpu_state(module)
        self.chosen[rule] = (step, score)
        held = {s for s, _ in self.chosen.values()}
        for s in [s for s in self.states if s not in held]:
            del self.states[s]
        return True

    def state(self, rule: str) -> dict[str, Any]:
        return self.states[self.chosen[rule][0]]

    def by_step(self) -> dict[int, list[str]]:
        """The rules that chose each kept step."""
        out: dict[int, list[str]] = {}
        for rule, (step, _) in self.chosen.items():
            out.setdefault(step, []).append(rule)
        return out
