"""Collapse detection: a run that degenerates is a result, never a success.

An adversarial game (DANN at too high a learning rate, say) can drive a model
to predict one class for everything. Its best checkpoint may come from before
the collapse, so selection alone would hide it; the trainer therefore checks
every evaluation and the record says ``collapsed`` with the step and reason.

A run has collapsed at an evaluation when either

* source-validation accuracy has fallen to near chance,
  ``acc <= chance + FALLEN * (1 - chance)``, after having been well above it,
  ``best_acc >= chance + RISEN * (1 - chance)`` at an earlier evaluation
  (with 10 classes: fell to <= 19% after having reached >= 55%); or
* every target-validation prediction is one class (read from predictions
  only, never from target labels), on a pair with more than one class, once
  source-validation accuracy has been well above chance: a model that has
  learned the source and still maps the whole target to one class has
  collapsed, while one that has not learned anything yet is only untrained
  (its numbers say so);

and, judged once at the end of training and only for runs evaluated at least
``MIN_EVALS_TO_JUDGE`` times (fewer cannot tell a run that never learns from
one too short to have started), a run whose source-validation accuracy never
rose above ``chance + FALLEN * (1 - chance)`` at any evaluation has collapsed
too: it degenerated before the first evaluation could see it
learn (DANN at a high learning rate and domain weight can do so within the
first 200 steps), or never learned at all. Either way it is not a success.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

RISEN = 0.5
FALLEN = 0.1
MIN_EVALS_TO_JUDGE = 5


@dataclass(frozen=True)
class Collapse:
    step: int
    reason: str


class CollapseMonitor:
    """Fed one evaluation at a time; returns the first :class:`Collapse` found."""

    def __init__(self, num_classes: int) -> None:
        self.num_classes = num_classes
        self.chance = 1.0 / max(num_classes, 1)
        self.best_source_val = float("-inf")
        self.collapse: Collapse | None = None
        self.evaluations = 0

    def update(
        self, step: int, source_val_acc: float, target_val_logits: torch.Tensor | None
    ) -> Collapse | None:
        self.evaluations += 1
        if self.collapse is not None:
            return self.collapse
        c = self.chance
        was_risen = self.best_source_val >= c + RISEN * (1 - c)
        self.best_source_val = max(self.best_source_val, source_val_acc)
        risen = self.best_source_val >= c + RISEN * (1 - c)
        if was_risen and source_val_acc <= c + FALLEN * (1 - c):
            self.collapse = Collapse(
                step,
                f"source-val accuracy fell to {100 * source_val_acc:.1f}% (chance "
                f"{100 * c:.1f}%) after reaching {100 * self.best_source_val:.1f}%",
            )
        elif (
            risen
            and self.num_classes > 1
            and target_val_logits is not None
            and len(target_val_logits) > 1
        ):
            preds = target_val_logits.argmax(1)
            if bool((preds == preds[0]).all()):
                self.collapse = Collapse(
                    step,
                    f"all {len(preds)} target-val predictions are class {int(preds[0])}",
                )
        return self.collapse

    def finish(self, step: int) -> Collapse | None:
        """The end-of-run check: source-val accuracy never rose above near-chance."""
        c = self.chance
        if (
            self.collapse is None
            and self.evaluations >= MIN_EVALS_TO_JUDGE
            and self.best_source_val <= c + FALLEN * (1 - c)
        ):
            self.collapse = Collapse(
                step,
                f"source-val accuracy never rose above {100 * self.best_source_val:.1f}% "
                f"(chance {100 * c:.1f}%)",
            )
        return self.collapse
