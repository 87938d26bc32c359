"""Collapse detection: on crafted evaluations and on a crafted training run."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dabench.config import build_config
from dabench.methods.source_only import SourceOnly
from dabench.models import build_backbone
from dabench.monitor import CollapseMonitor
from dabench.records import build_record
from dabench.train import train


def _logits(classes: list[int], num_classes: int = 10) -> torch.Tensor:
    return F.one_hot(torch.tensor(classes), num_classes).float()


def test_source_val_falling_to_chance_after_rising_is_a_collapse():
    m = CollapseMonitor(10)
    mixed = _logits([0, 1, 2, 3])
    assert m.update(100, 0.30, mixed) is None
    assert m.update(200, 0.90, mixed) is None
    assert m.update(300, 0.40, mixed) is None, "a drop that stays above chance is not a collapse"
    c = m.update(400, 0.11, mixed)
    assert c is not None and c.step == 400 and "fell to 11.0%" in c.reason
    assert m.update(500, 0.95, mixed) is c, "the first collapse is kept"


def test_an_untrained_start_is_not_a_collapse_but_never_learning_is():
    m = CollapseMonitor(10)
    for step in range(1, 6):
        assert m.update(step, 0.10, _logits([3, 3, 3])) is None, "not during training"
    c = m.finish(5)
    assert c is not None and "never rose above 10.0%" in c.reason
    short = CollapseMonitor(10)
    for step in range(1, 3):
        short.update(step, 0.10, _logits([3, 3]))
    assert short.finish(2) is None, "two evaluations are too few to judge"
    slow = CollapseMonitor(10)
    for step, acc in ((1, 0.1), (2, 0.12), (3, 0.12), (4, 0.13), (5, 0.35)):
        slow.update(step, acc, _logits([1, 2]))
    assert slow.finish(5) is None, "a slow learner that got going is healthy"


def test_one_class_on_target_after_learning_the_source_is_a_collapse():
    m = CollapseMonitor(10)
    assert m.update(100, 0.95, _logits([1, 2, 2])) is None
    c = m.update(200, 0.96, _logits([7, 7, 7, 7]))
    assert c is not None and c.step == 200 and "class 7" in c.reason


class CollapsingSourceOnly(SourceOnly):
    """Learns the source for 30 steps, then is pushed to predict class 0 for
    everything: the degenerate solution an unstable adversarial game finds."""

    def loss(self, src, tgt, step):
        _, logits = self(src.x)
        target = src.y if step <= 30 else torch.zeros_like(src.y)
        ce = F.cross_entropy(logits, target)
        return ce, {"cls": float(ce.detach())}


def _run(collapse_stop: bool, tiny_splits):
    # Learnable tiny splits: the image is a bright band whose row encodes the label.
    for ds in vars(tiny_splits).values():
        ds.x.zero_()
        for i, y in enumerate(ds.y.tolist()):
            ds.x[i, 0, 2 * y : 2 * y + 3, :] = 1.0
    cfg = build_config(
        "source_only",
        "mnist2digits",
        overrides={
            "train.steps": 80,
            "train.eval_every": 10,
            "train.batch_size": 16,
            "train.lr": 0.05,
            "train.collapse_stop": collapse_stop,
        },
    )
    torch.manual_seed(0)
    method = CollapsingSourceOnly(build_backbone("dann_digits", (1, 28, 28)), 10, {}, 80)
    return cfg, train(method, tiny_splits, cfg, torch.device("cpu"))


def test_a_collapsing_run_is_flagged_stopped_and_recorded_as_collapsed(tiny_splits):
    cfg, result = _run(True, tiny_splits)
    assert result.collapse is not None
    assert 30 < result.collapse.step < 80
    assert result.steps_run == result.collapse.step, "early stop at the collapsing evaluation"
    assert result.curve[-1]["collapsed"] and not result.curve[0]["collapsed"]
    # Selection may still pick a checkpoint from before the collapse; the record says collapsed.
    assert result.selections["source_val"].step <= result.collapse.step
    rec = build_record(
        cfg,
        run_id="x",
        config_hash="h",
        method_cls=SourceOnly,
        pair_version=1,
        trainer_version=2,
        splits={},
        provenance={},
        result=result,
    )
    assert rec.status == "collapsed"
    assert rec.collapse["step"] == result.collapse.step and rec.collapse["reason"]


def test_without_early_stop_the_run_finishes_and_is_still_flagged(tiny_splits):
    _, result = _run(False, tiny_splits)
    assert result.steps_run == 80 and result.collapse is not None
