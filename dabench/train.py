"""The one training loop every method shares.

Same optimizer (SGD with momentum, weight decay), same learning-rate schedule,
same step budget, same evaluation cadence and same selection rules for every
method on a pair: fairness by construction.
"""

from __future__ import annotations

import logging
import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support
from torch.utils.data import Dataset

from dabench.checkpoints import BestCheckpoints, cpu_state
from dabench.config import RunConfig, amp_enabled, channels_last_enabled
from dabench.data.base import Batch, infinite_batches, ordered_batches
from dabench.data.pairs import PairSplits
from dabench.methods.base import DivergedError, Method, TargetAccess, deferred_finite_checks
from dabench.monitor import Collapse, CollapseMonitor
from dabench.selection import SELECTORS, Evaluation

__all__ = ["DivergedError", "evaluate", "resolve_device", "seed_everything", "train"]

log = logging.getLogger(__name__)

EVAL_BATCH = 512


def resolve_device(name: str) -> torch.device:
    from dabench.errors import UserError

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise UserError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UserError(
            f"device {name!r} requested but CUDA is not available here; use --device cpu or auto"
        )
    if dev.type not in ("cpu", "cuda"):
        raise UserError(f"unsupported device {name!r}; use auto, cpu, cuda or cuda:N")
    return dev


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    # Deterministic kernels where they exist; warn (not fail) on CUDA ops without one.
    torch.use_deterministic_algorithms(True, warn_only=True)


def lr_factor(schedule: str, progress: float) -> float:
    """Multiplier of the base lr at training progress ``p`` in [0, 1]."""
    if schedule == "anneal":  # Ganin et al. 2016: mu_0 / (1 + 10 p)^0.75
        return (1.0 + 10.0 * progress) ** -0.75
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    return 1.0


@dataclass
class ScoredMetrics:
    acc: float
    f1: float
    logits: torch.Tensor
    labels: torch.Tensor


@torch.no_grad()
def evaluate(
    method: Method,
    ds: Dataset,
    device: torch.device,
    num_classes: int,
    amp: bool = False,
    memory_format: torch.memory_format = torch.channels_last,
) -> ScoredMetrics:
    """Accuracy and macro-F1 (over all classes of the pair) on a labelled split."""
    was_training = method.training
    method.eval()
    logits, labels = [], []
    batch_size = getattr(method.backbone, "eval_batch_size", EVAL_BATCH)
    for b in ordered_batches(ds, batch_size, loader_workers()):
        with autocast(device, amp):
            logits.append(method.predict(b.to(device, memory_format).x).float().cpu())
        labels.append(b.y)
    method.train(was_training)
    lg = torch.cat(logits)
    y = torch.cat(labels)
    pred = lg.argmax(1)
    acc = float((pred == y).float().mean())
    f1 = float(
        f1_score(
            y.numpy(),
            pred.numpy(),
            average="macro",
            labels=list(range(num_classes)),
            zero_division=0,
        )
    )
    return ScoredMetrics(acc, f1, lg, y)


def target_batches_of(ds: Dataset, device: torch.device, seed: int) -> Callable[[int], Any]:
    """The unlabeled target-train batches :meth:`Method.target_eval` adapts to:
    labels stripped, the same order at every evaluation (a function of the seed
    only), so an evaluation is a function of the model state alone."""

    def batches(batch_size: int):
        gen = torch.Generator().manual_seed(seed * 1_000_003 + 3)
        for b in infinite_batches(ds, batch_size, gen, labelled=False):
            yield Batch(b.x).to(device)

    return batches


@dataclass
class SelectionResult:
    step: int
    score: float
    source_val_acc: float
    target_test_acc: float = float("nan")
    target_test_f1: float = float("nan")
    per_class: dict[str, Any] | None = None


@dataclass
class TrainResult:
    selections: dict[str, SelectionResult]
    curve: list[dict[str, Any]]
    steps_run: int
    train_seconds: float
    eval_seconds: float
    final_parts: dict[str, float] = field(default_factory=dict)
    collapse: Collapse | None = None
    costs: dict[str, Any] = field(default_factory=dict)


def per_class_metrics(m: ScoredMetrics, num_classes: int, classes: list[str]) -> dict[str, Any]:
    """Per-class precision, recall, F1, support and the confusion matrix
    (rows: true class, columns: predicted) of one scored split."""
    y, pred = m.labels.numpy(), m.logits.argmax(1).numpy()
    labels = list(range(num_classes))
    p, r, f, n = precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    return {
        "classes": list(classes) if len(classes) == num_classes else [str(i) for i in labels],
        "precision": [round(float(v), 6) for v in p],
        "recall": [round(float(v), 6) for v in r],
        "f1": [round(float(v), 6) for v in f],
        "support": [int(v) for v in n],
        "confusion": confusion_matrix(y, pred, labels=labels).tolist(),
    }


def run_costs(method: Method, device: torch.device, images: int, seconds: float) -> dict[str, Any]:
    """Parameters, peak memory and throughput of a finished run."""
    params = list(method.parameters())
    if device.type == "cuda":
        peak, kind = torch.cuda.max_memory_allocated(device) / 2**20, "cuda_allocated"
    else:
        import resource

        # ru_maxrss is KiB on Linux: the process's peak, so a sweep reports its running peak.
        peak, kind = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "process_rss"
    return {
        "params_total": sum(p.numel() for p in params),
        "params_trainable": sum(p.numel() for p in params if p.requires_grad),
        "peak_memory_mb": round(peak, 1),
        "peak_memory_kind": kind,
        "train_images": images,
        "images_per_second": round(images / seconds, 2) if seconds > 0 else None,
    }


ProgressFn = Callable[[int, int, dict[str, float]], None]


def autocast(device: torch.device, enabled: bool) -> torch.autocast:
    """bf16 autocast on ``device`` when ``enabled`` (train.amp): no GradScaler needed."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled)


def host_floats(parts: dict[str, Any]) -> dict[str, float]:
    """Loss parts as floats: one device-to-host read for all tensor parts."""
    keys = [k for k, v in parts.items() if isinstance(v, torch.Tensor)]
    out = {k: float(v) for k, v in parts.items() if not isinstance(v, torch.Tensor)}
    if keys:
        try:
            values = torch.stack([parts[k].detach().float().reshape(()) for k in keys]).tolist()
        except RuntimeError:  # parts on different devices
            values = [float(parts[k]) for k in keys]
        out.update(zip(keys, values, strict=True))
    return {k: out[k] for k in parts}


def loader_workers() -> int:
    """DataLoader workers for file-backed domains too large for the decoded
    cache (``DABENCH_LOADER_WORKERS``, default up to 4, one core left free)."""
    env = os.environ.get("DABENCH_LOADER_WORKERS")
    if env is not None:
        return max(0, int(env))
    return max(0, min(4, (os.cpu_count() or 1) - 1))


def _fit_without_sgd(method: Method, splits: PairSplits, device: torch.device) -> TrainResult:
    """Heads fitted without SGD have one checkpoint, so every selection rule
    picks it; it is scored on the target test split once."""
    t0 = time.perf_counter()
    method.to(device, memory_format=torch.channels_last)
    method.eval()
    # A few-shot head gets the episode's k-shot support, never target val or test.
    support = None
    if method.target_access == TargetAccess.FEW_SHOT:
        support = getattr(splits, "target_support", None)
        if support is None or len(support) == 0:
            from dabench.errors import UserError

            raise UserError(f"{method.name} is few-shot: set data.shots to k >= 1")
    method.fit(support)
    fit_s = time.perf_counter() - t0
    m = evaluate(method, splits.target_test, device, method.num_classes)
    sv = (
        evaluate(method, splits.source_val, device, method.num_classes).acc
        if len(splits.source_val)
        else float("nan")
    )
    pc = per_class_metrics(m, method.num_classes, getattr(splits.target_test, "classes", []))
    selections = {
        name: SelectionResult(0, float("nan"), sv, m.acc, m.f1, pc) for name in SELECTORS.names()
    }
    costs = run_costs(method, device, 0, fit_s)
    return TrainResult(selections, [], 0, fit_s, time.perf_counter() - t0 - fit_s, {}, None, costs)


def train(
    method: Method,
    splits: PairSplits,
    cfg: RunConfig,
    device: torch.device,
    progress: ProgressFn | None = None,
) -> TrainResult:
    """Train ``method`` for ``cfg.train.steps`` steps and select checkpoints.

    Target test labels are read exactly once per selection rule, after
    training, to score the checkpoint that rule chose.
    """
    tc = cfg.train
    num_classes = method.num_classes
    if not method.trainable:
        return _fit_without_sgd(method, splits, device)
    amp = amp_enabled(tc, device.type)
    # channels_last measured ~2x faster for the digit CNN's step on CPU (oneDNN)
    # and feeds tensor cores on GPU; a layout, not a change of what is computed.
    fmt = torch.channels_last if channels_last_enabled(tc, device.type) else torch.contiguous_format
    method.to(device, memory_format=fmt)
    pin = device.type == "cuda"
    if pin:
        torch.cuda.reset_peak_memory_stats(device)
    gen_s = torch.Generator().manual_seed(cfg.seed * 1_000_003 + 1)
    gen_t = torch.Generator().manual_seed(cfg.seed * 1_000_003 + 2)
    stream = dict(pin_memory=pin, device=device, num_workers=loader_workers())
    src_iter = infinite_batches(splits.source_train, tc.batch_size, gen_s, labelled=True, **stream)
    access = method.target_access
    tgt_iter = None
    if access == TargetAccess.FEW_SHOT:
        # Unlabeled pool images plus a labelled batch of the support set only.
        from dabench.data.fewshot import few_shot_batches

        tgt_iter = few_shot_batches(splits, tc.batch_size, gen_t, pin_memory=pin, device=device)
    elif access != TargetAccess.NONE:
        # Labels only for the labelled-target upper bound; every adapter gets
        # batches with y=None, so it cannot read them.
        tgt_iter = infinite_batches(
            splits.target_train,
            tc.batch_size,
            gen_t,
            labelled=access == TargetAccess.LABELED,
            **stream,
        )

    opts: dict[str, torch.optim.Optimizer] = {}
    scheds = []
    for opt_name, groups in method.optimizer_groups().items():
        for g in groups:
            g["lr"] = tc.lr * g["lr_mult"]
        opt = torch.optim.SGD(groups, lr=tc.lr, momentum=tc.momentum, weight_decay=tc.weight_decay)
        opts[opt_name] = opt
        scheds.append(
            torch.optim.lr_scheduler.LambdaLR(
                opt, lambda s: lr_factor(tc.lr_schedule, s / tc.steps)
            )
        )

    target_batches = target_batches_of(splits.target_train, device, cfg.seed)
    selectors = [SELECTORS.get(n) for n in SELECTORS.names()]
    monitor = CollapseMonitor(num_classes)
    results: dict[str, SelectionResult] = {}
    best = BestCheckpoints()
    curve: list[dict[str, Any]] = []
    eval_seconds = 0.0
    t0 = time.perf_counter()
    # The last step's loss parts: device tensors until read back at a flush.
    raw_parts: dict[str, Any] = {}
    parts: dict[str, float] = {}

    def score(ds: Dataset) -> ScoredMetrics:
        return evaluate(method, ds, device, num_classes, amp, fmt)

    def do_eval(step: int) -> None:
        nonlocal eval_seconds
        te = time.perf_counter()
        sv = score(splits.source_val)
        with method.target_eval(target_batches):
            tv = score(splits.target_val)
        ev = Evaluation(step, sv.acc, sv.f1, tv.logits, tv.acc, tv.f1)
        row: dict[str, Any] = {
            "step": step,
            "source_val_acc": sv.acc,
            "target_val_acc_oracle": tv.acc,
            **parts,
        }
        for sel in selectors:
            row[f"score_{sel.name}"] = value = sel.score(ev)
            if best.offer(sel.name, step, value, method):
                results[sel.name] = SelectionResult(step, value, sv.acc)
        collapse = monitor.update(step, sv.acc, tv.logits)
        row["collapsed"] = collapse is not None
        curve.append(row)
        eval_seconds += time.perf_counter() - te

    method.train()
    step = 0
    # No host-device synchronisation inside a step: divergence checks and loss
    # parts are read back every log_every steps and before each evaluation.
    with deferred_finite_checks() as checks:
        for step in range(1, tc.steps + 1):
            src = next(src_iter).to(device, fmt)
            tgt = next(tgt_iter).to(device, fmt) if tgt_iter is not None else None
            with autocast(device, amp):
                total, step_parts = method.train_step(src, tgt, step, opts)
            checks.add(total, step)
            for sched in scheds:
                sched.step()
            raw_parts = {"loss": total, **step_parts}
            evaluating = step % tc.eval_every == 0 or step == tc.steps
            if evaluating or step % tc.log_every == 0:
                checks.flush()
                parts = host_floats(raw_parts)
            if evaluating:
                do_eval(step)
            if progress is not None:
                progress(step, tc.steps, parts)
            if monitor.collapse is not None and tc.collapse_stop:
                log.info("stopping at step %d: %s", step, monitor.collapse.reason)
                break

    monitor.finish(step)
    final_state = cpu_state(method)
    # Each kept checkpoint is scored on the target test split once, whichever
    # rules chose it.
    for chosen_step, rules in best.by_step().items():
        method.load_state_dict(best.states[chosen_step])
        with method.target_eval(target_batches):
            m = score(splits.target_test)
        pc = per_class_metrics(m, num_classes, getattr(splits.target_test, "classes", []))
        for rule in rules:
            res = results[rule]
            res.target_test_acc, res.target_test_f1, res.per_class = m.acc, m.f1, pc
    selections = {name: results[name] for name in best.chosen}
    method.load_state_dict(final_state)
    total_s = time.perf_counter() - t0
    images = step * tc.batch_size * (2 if tgt_iter is not None else 1)
    costs = run_costs(method, device, images, total_s - eval_seconds)
    return TrainResult(
        selections,
        curve,
        step,
        total_s - eval_seconds,
        eval_seconds,
        parts,
        monitor.collapse,
        costs,
    )
