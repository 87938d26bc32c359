"""Checkpoint-selection rules.

At every evaluation the trainer computes an :class:`Evaluation` and asks each
rule for a score (higher is better); each rule keeps its own best checkpoint.
Only rules whose name says ``oracle`` read target labels, and they read the
labelled target *validation* split, never the test split. The unsupervised
rules use pytorch-adapt's validators on target validation images alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from dabench.registry import Registry


@dataclass
class Evaluation:
    """What one evaluation step measured. ``target_val_acc`` comes from target
    labels and is only for rules with ``uses_target_labels``."""

    step: int
    source_val_acc: float
    source_val_f1: float
    target_val_logits: torch.Tensor
    target_val_acc: float
    target_val_f1: float


@dataclass(frozen=True)
class Selector:
    name: str
    description: str
    score: Callable[[Evaluation], float]
    uses_target_labels: bool = False
    # False for a rule whose score only orders a run's own checkpoints and means
    # nothing across runs (``last``: the step): it cannot rank trials, and the
    # report shows trial 0, the defaults.
    ranks_trials: bool = True


SELECTORS: Registry[Selector] = Registry("selector")


def _pa_validator_score(kind: str) -> Callable[[Evaluation], float]:
    from pytorch_adapt import validators

    validator = {
        "entropy": validators.EntropyValidator,
        "im": validators.IMValidator,
        "snd": validators.SNDValidator,
    }[kind]()

    def score(ev: Evaluation) -> float:
        logits = ev.target_val_logits.float()
        return float(
            validator(target_train={"logits": logits, "preds": torch.softmax(logits, dim=1)})
        )

    return score


for _sel in (
    Selector(
        "source_val",
        "accuracy on held-out labelled source data (default, honest)",
        lambda e: e.source_val_acc,
    ),
    Selector("last", "the final step, no selection", lambda e: float(e.step), ranks_trials=False),
    Selector(
        "entropy",
        "lowest prediction entropy on unlabeled target val (pytorch-adapt EntropyValidator)",
        _pa_validator_score("entropy"),
    ),
    Selector(
        "im",
        "information maximisation on unlabeled target val (pytorch-adapt IMValidator)",
        _pa_validator_score("im"),
    ),
    Selector(
        "snd",
        "soft neighbourhood density on unlabeled target val (Saito et al. ICCV 2021)",
        _pa_validator_score("snd"),
    ),
    Selector(
        "oracle",
        "accuracy on LABELLED target val: an upper bound, as most papers report",
        lambda e: e.target_val_acc,
        uses_target_labels=True,
    ),
):
    SELECTORS.add(_sel.name, _sel)
