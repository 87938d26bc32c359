"""The method interface every adaptation method implements.

The trainer owns the optimizer, schedule, budget, evaluation and selection; a
method only says how to turn a source batch (and, if it may see one, a target
batch) into a loss. That keeps every method under the same conditions.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from dabench.data.base import Batch
from dabench.models.backbones import Backbone
from dabench.models.heads import mlp_head
from dabench.registry import Registry
from dabench.search import Distribution

FAMILIES = (
    "baseline",
    "finetune",
    "adversarial",
    "discrepancy",
    "regularizer",
    "self_training",
    "normalization",
    "source_free",
    "test_time",
    "few_shot",
    "zero_shot",
    "upper_bound",
)


class DivergedError(RuntimeError):
    """A loss became NaN or infinite: the run is recorded ``diverged``."""


class FiniteChecks:
    """Deferred divergence checks: losses are kept on their device and tested
    together at :meth:`flush`, one host read for many steps.

    Reading a CUDA loss back every step (``if not torch.isfinite(loss)``)
    stalls the host until the GPU catches up; the trainer opens this around
    its step loop (:func:`deferred_finite_checks`) and flushes every
    ``train.log_every`` steps and before each evaluation. A NaN at step ``k``
    is therefore raised within ``log_every`` steps of ``k``, still naming step
    ``k`` and the value, and never after a checkpoint of the diverged weights
    was scored. ``torch._assert_async`` would avoid the read entirely but
    aborts the CUDA context, which a sweep in one process cannot survive.
    """

    def __init__(self) -> None:
        self._pending: list[tuple[int, torch.Tensor]] = []

    def add(self, loss: torch.Tensor, step: int) -> None:
        self._pending.append((step, loss.detach().reshape(())))

    def flush(self) -> None:
        if not self._pending:
            return
        losses = torch.stack([t.float() for _, t in self._pending])
        bad = ~torch.isfinite(losses)
        if bool(bad.any()):
            i = int(bad.nonzero()[0, 0])
            step = self._pending[i][0]
            self._pending.clear()
            raise DivergedError(f"loss became {losses[i].item()} at step {step}")
        self._pending.clear()


_DEFERRED: ContextVar[FiniteChecks | None] = ContextVar("dabench_finite_checks", default=None)


@contextmanager
def deferred_finite_checks() -> Iterator[FiniteChecks]:
    """Within this block :func:`check_finite` defers to the yielded checks."""
    checks = FiniteChecks()
    token = _DEFERRED.set(checks)
    try:
        yield checks
    finally:
        _DEFERRED.reset(token)


def check_finite(loss: torch.Tensor, step: int) -> None:
    """Raise :class:`DivergedError` when ``loss`` is NaN or infinite.

    A :meth:`Method.train_step` override calls it on each loss before its
    backward pass, as the default step does. Inside the trainer's step loop
    the check is deferred (:class:`FiniteChecks`): no host read per step.
    """
    checks = _DEFERRED.get()
    if checks is not None:
        checks.add(loss, step)
    elif not torch.isfinite(loss):
        raise DivergedError(f"loss became {loss.item()} at step {step}")


Optimizers = dict[str, torch.optim.Optimizer]
# Unlabeled target-train batches on the device, in an order fixed for the run:
# ``target_batches(batch_size)`` starts a fresh endless iterator each call.
TargetBatches = Callable[[int], Iterator[Batch]]
# Loss parts: floats or detached 0-d tensors (read back at the log cadence).
Parts = dict[str, float | torch.Tensor]


class TargetAccess(str, Enum):
    """What target data a method may see during training."""

    NONE = "none"
    UNLABELED = "unlabeled"
    FEW_SHOT = "few_shot"
    # Labelled target-train batches: an upper bound (``target_only``), never
    # ranked against methods that adapt without target labels.
    LABELED = "labeled"

    @property
    def reads_target_labels(self) -> bool:
        """True when training reads target-train labels (few-shot support or all)."""
        return self in (TargetAccess.FEW_SHOT, TargetAccess.LABELED)


@dataclass(frozen=True)
class HParam:
    """A method hyperparameter: default (its type is the parameter's type), the
    range of valid values, and the distribution trials draw it from (``None``:
    not searched, every trial uses the default).

    ``hash_default=False`` is for a hyperparameter added to an existing method
    whose default reproduces the method's earlier behaviour: it enters the run
    key only when set to another value, so records made before it existed
    keep their keys (a default that changes behaviour needs a version bump).
    """

    default: Any
    doc: str
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] | None = None
    search: Distribution | None = None
    hash_default: bool = True

    def __post_init__(self) -> None:
        if self.search is not None and not self.search.contains(self.default):
            raise ValueError(f"default {self.default!r} lies outside {self.search.describe()}")


class Method(nn.Module):
    """Base class: a backbone, a classifier head, and a loss.

    Subclasses set the class attributes below, may add modules in ``__init__``
    and implement :meth:`loss`. ``step``/``total_steps`` make every schedule a
    pure function of training progress.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    paper: ClassVar[str] = ""
    # One of FAMILIES: how `dabench list methods` and the README group methods.
    family: ClassVar[str] = ""
    target_access: ClassVar[TargetAccess] = TargetAccess.NONE
    # False for heads that use only a pretrained backbone and target data: they
    # run even when the source images are not on disk.
    needs_source_images: ClassVar[bool] = True
    # False for heads fitted without SGD (zero-shot, closed-form): the trainer
    # calls fit() instead of running the step loop.
    trainable: ClassVar[bool] = True
    hparams: ClassVar[dict[str, HParam]] = {}
    # Optimizer settings this method's paper prescribes (e.g. {"lr": 0.01}):
    # its trial 0. They override configs/defaults.yaml, never a search draw.
    train_defaults: ClassVar[dict[str, Any]] = {}
    # Bump whenever the method's behaviour changes: the version is part of the
    # run key, so records made by the old code are rerun, never reused.
    version: ClassVar[int] = 1

    def __init__(
        self,
        backbone: Backbone,
        num_classes: int,
        hp: dict[str, Any],
        total_steps: int,
        pair: Any = None,
    ) -> None:
        super().__init__()
        self.pair = pair  # the registered Pair, for heads that need its class map
        self.backbone = backbone
        self.classifier = mlp_head(backbone.out_features, backbone.head_hidden, num_classes)
        self.num_classes = num_classes
        self.hp = dict(hp)
        self.total_steps = max(int(total_steps), 1)

    def progress(self, step: int) -> float:
        return min(step / self.total_steps, 1.0)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Features and logits."""
        f = self.backbone(x)
        return f, self.classifier(f)

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits ``(n, C)``."""
        return self.forward(x)[1]

    def loss(self, src: Batch, tgt: Batch | None, step: int) -> tuple[torch.Tensor, Parts]:
        """The total loss and its named parts. Parts may be floats or detached
        0-d tensors; tensors are preferred: the trainer reads them back only
        every ``train.log_every`` steps, so the step never waits for the GPU."""
        raise NotImplementedError

    def source_loss(self, src: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Cross-entropy on the labelled batch ``src``: the whole loss of the
        source-trained methods. Its part stays a device tensor (the trainer
        reads parts back at its log cadence, never inside a step)."""
        ce = F.cross_entropy(self(src.x)[1], src.y)
        return ce, {"cls": ce.detach()}

    def train_step(
        self, src: Batch, tgt: Batch | None, step: int, opts: Optimizers
    ) -> tuple[torch.Tensor, Parts]:
        """One training step; returns the (detached) total loss and its parts.

        The default is one loss, one backward pass and one step of the
        ``"main"`` optimizer. Methods with alternating updates (MCD, ADDA)
        override this hook: ``opts`` holds one optimizer per entry of
        :meth:`optimizer_groups`, all built by the trainer with the same lr,
        momentum, weight decay and schedule. The trainer still owns the step
        budget, evaluation and selection, so every method gets the same number
        of steps and evaluations whichever path it takes.
        """
        total, parts = self.loss(src, tgt, step)
        check_finite(total, step)
        opt = opts["main"]
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()
        return total.detach(), parts

    def target_eval(self, target_batches: TargetBatches) -> contextlib.AbstractContextManager[Any]:
        """Context the trainer enters around each evaluation of a target split
        (target val at every evaluation, target test once per selection rule).

        Normalisation and test-time methods (AdaBN, Tent) adapt to the
        unlabeled ``target_batches`` here; they must leave the model exactly
        as they found it on exit, so source evaluations, saved checkpoints and
        later evaluations all see the trained model. Default: nothing.
        """
        return contextlib.nullcontext()

    def fit(self, support: Any) -> None:
        """For ``trainable = False`` heads: fit without SGD. ``support`` is the
        labelled target data a few-shot head may see, else None."""

    def param_groups(self) -> list[dict[str, Any]]:
        """Parameter groups with an lr multiplier: pretrained backbones move slower."""
        backbone = list(self.backbone.parameters())
        ids = {id(p) for p in backbone}
        rest = [p for p in self.parameters() if id(p) not in ids]
        groups = [{"params": backbone, "lr_mult": self.backbone.lr_mult}]
        if rest:
            groups.append({"params": rest, "lr_mult": 1.0})
        return groups

    @classmethod
    def quiet_defaults(cls) -> dict[str, Any]:
        """Hyperparameters that enter the run key only away from these
        defaults (``HParam.hash_default=False``)."""
        return {n: hp.default for n, hp in cls.hparams.items() if not hp.hash_default}

    def optimizer_groups(self) -> dict[str, list[dict[str, Any]]]:
        """Named optimizers the trainer builds, each from parameter groups with
        an ``lr_mult``. One (``"main"`` over :meth:`param_groups`) unless a
        method's :meth:`train_step` steps several separately."""
        return {"main": self.param_groups()}


class MethodRegistry(Registry[type[Method]]):
    """The method registry; a name joined by ``+`` (``dann+mcc``) resolves to
    the base method composed with a regulariser (``dabench.methods.compose``)."""

    def get(self, name: str) -> type[Method]:
        if "+" in name:
            from dabench.methods.compose import compose

            return compose(self, name)
        return super().get(name)


METHODS: MethodRegistry = MethodRegistry("method")


def register(cls: type[Method]) -> type[Method]:
    """Class decorator: register a method under its ``name``."""
    for attr in ("name", "description"):
        if not getattr(cls, attr, None):
            raise ValueError(f"method class {cls.__name__} must set `{attr}`")
    if cls.family and cls.family not in FAMILIES:
        raise ValueError(
            f"method {cls.name!r}: unknown family {cls.family!r}; one of {', '.join(FAMILIES)}"
        )
    METHODS.add(cls.name, cls)
    return cls
