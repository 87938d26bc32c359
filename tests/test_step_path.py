"""The trainer's step path: no host reads per step, deferred divergence checks,
shared CPU checkpoints, and the amp / channels_last flags."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import dabench.train as train_mod
from dabench.checkpoints import BestCheckpoints
from dabench.config import amp_enabled, build_config, channels_last_enabled, config_hash
from dabench.errors import UserError
from dabench.methods import METHODS
from dabench.methods.base import DivergedError, Method, TargetAccess
from dabench.models import build_backbone
from dabench.train import train

HOST_READS = ("item", "tolist", "__float__", "__int__", "__bool__", "__index__")


def _dann(steps: int, **overrides):
    cfg = build_config(
        "dann",
        "mnist2digits",
        overrides={
            "train.steps": steps,
            "train.eval_every": steps,
            "train.batch_size": 8,
            "device": "cpu",
            **overrides,
        },
    )
    torch.manual_seed(0)
    method = METHODS.get("dann")(build_backbone(cfg.backbone, (1, 28, 28)), 10, cfg.hparams, steps)
    return cfg, method


def test_no_host_reads_inside_training_steps(tiny_splits, monkeypatch):
    """Between evaluations and log steps the loop never reads a tensor back
    (on CUDA each read would stall the host until the GPU catches up)."""
    steps = 8
    cfg, method = _dann(steps, **{"train.eval_every": steps, "train.log_every": 100})
    reads = {"n": 0}
    for name in HOST_READS:
        real = getattr(torch.Tensor, name)

        def spy(self, *a, _real=real, **k):
            reads["n"] += 1
            return _real(self, *a, **k)

        monkeypatch.setattr(torch.Tensor, name, spy)
    seen: dict[int, int] = {}
    result = train(
        method, tiny_splits, cfg, torch.device("cpu"), lambda s, t, p: seen.update({s: reads["n"]})
    )
    assert result.steps_run == steps
    assert seen[steps - 1] == seen[1], "steps 2..7 read nothing back from the tensors"
    assert seen[steps] > seen[steps - 1], "the last step flushes and evaluates"
    assert set(result.final_parts) >= {"loss", "cls", "domain"}
    assert all(isinstance(v, float) for v in result.final_parts.values())


class _Explodes(Method):
    """Finite losses until step 3, then NaN."""

    name = "toy_explodes"
    description = "test only"
    target_access = TargetAccess.NONE

    def loss(self, src, tgt, step):
        ce = F.cross_entropy(self(src.x)[1], src.y)
        return (ce * float("nan") if step >= 3 else ce), {"cls": ce.detach()}


def test_divergence_is_caught_at_the_next_log_step_naming_its_step(tiny_splits):
    cfg, _ = _dann(20, **{"train.eval_every": 20, "train.log_every": 5})
    torch.manual_seed(0)
    method = _Explodes(build_backbone(cfg.backbone, (1, 28, 28)), 10, {}, 20)
    steps_taken = []
    with pytest.raises(DivergedError, match="loss became nan at step 3"):
        train(method, tiny_splits, cfg, torch.device("cpu"), lambda s, t, p: steps_taken.append(s))
    assert steps_taken == [1, 2, 3, 4], "raised at the log step 5, before its progress report"


def test_best_checkpoints_are_shared_cpu_copies_and_pruned():
    net = torch.nn.Linear(2, 2)
    best = BestCheckpoints()
    assert best.offer("a", 10, 0.5, net) and best.offer("b", 10, 0.7, net)
    assert best.state("a") is best.state("b"), "rules that chose one step share its copy"
    assert all(t.device.type == "cpu" for t in best.state("a").values())
    kept = best.state("a")["weight"].clone()
    with torch.no_grad():
        net.weight.add_(1.0)
    assert torch.equal(best.state("a")["weight"], kept), "a copy, not a view of the live weights"
    assert not best.offer("a", 20, 0.4, net), "a worse score keeps the older checkpoint"
    assert best.offer("b", 20, 0.7, net), "a tie takes the later, more trained checkpoint"
    assert best.by_step() == {10: ["a"], 20: ["b"]}
    assert best.offer("a", 30, 0.9, net) and best.offer("b", 30, 0.9, net)
    assert set(best.states) == {30}, "copies no rule holds are dropped"


def test_each_chosen_checkpoint_is_scored_on_target_test_once(tiny_splits, monkeypatch):
    cfg, method = _dann(6, **{"train.eval_every": 2})
    calls = []
    real = train_mod.evaluate

    def spy(m, ds, *a, **k):
        if ds is tiny_splits.target_test:
            calls.append(1)
        return real(m, ds, *a, **k)

    monkeypatch.setattr(train_mod, "evaluate", spy)
    result = train(method, tiny_splits, cfg, torch.device("cpu"))
    chosen = {s.step for s in result.selections.values()}
    assert len(result.selections) > len(chosen), "some rules share a step in this run"
    assert len(calls) == len(chosen)
    by_step = {}
    for s in result.selections.values():
        assert by_step.setdefault(s.step, s.target_test_acc) == s.target_test_acc


def test_amp_and_channels_last_flags_resolve_as_documented():
    cfg = build_config("dann", "mnist2digits")
    assert cfg.train.amp == "auto" and cfg.train.channels_last == "auto"
    assert amp_enabled(cfg.train, "cuda") and not amp_enabled(cfg.train, "cpu")
    assert channels_last_enabled(cfg.train, "cpu") and channels_last_enabled(cfg.train, "cuda")
    on = build_config("dann", "mnist2digits", overrides={"train.amp": "true"})
    assert amp_enabled(on.train, "cpu")
    off = build_config(
        "dann", "mnist2digits", overrides={"train.amp": False, "train.channels_last": "false"}
    )
    assert not amp_enabled(off.train, "cuda") and not channels_last_enabled(off.train, "cpu")
    with pytest.raises(UserError, match="train.amp must be one of auto, true, false"):
        build_config("dann", "mnist2digits", overrides={"train.amp": "fp16"})


# Keys of runs recorded before these flags existed (computed on the code before
# them): they must not change, or every existing CPU record would be rerun.
OLD_KEYS = [
    ("dann", {}, "e19446496470"),
    ("source_only", {"train.steps": 300, "seed": 3}, "79c2ace9c7a5"),
    ("coral", {"data.shots": 5}, "bfc1921f6ee8"),
]


@pytest.mark.parametrize(("method", "overrides", "key"), OLD_KEYS)
def test_existing_cpu_run_keys_are_unchanged(method, overrides, key):
    cfg = build_config(method, "mnist2digits", overrides={**overrides, "device": "cpu"})
    quiet = METHODS.get(method).quiet_defaults()
    assert config_hash(cfg, 1, 1, quiet) == key
    for flag in ({"train.channels_last": "false"}, {"train.log_every": 7}, {"train.amp": "false"}):
        same = build_config(
            method, "mnist2digits", overrides={**overrides, "device": "cpu", **flag}
        )
        assert config_hash(same, 1, 1, quiet) == key, f"{flag} does not change a CPU fp32 result"


def test_amp_enters_the_key_only_when_it_resolves_on():
    cpu = build_config("dann", "mnist2digits", overrides={"device": "cpu"})
    cpu_amp = build_config("dann", "mnist2digits", overrides={"device": "cpu", "train.amp": "true"})
    cuda = build_config("dann", "mnist2digits", overrides={"device": "cuda"})
    cuda_fp32 = build_config(
        "dann", "mnist2digits", overrides={"device": "cuda", "train.amp": "false"}
    )
    assert config_hash(cpu_amp, 1, 1) != config_hash(cpu, 1, 1)
    assert config_hash(cuda, 1, 1) == config_hash(cpu_amp, 1, 1), "bf16 is bf16 on either device"
    assert config_hash(cuda_fp32, 1, 1) == config_hash(cpu, 1, 1)


@pytest.mark.parametrize(("flag", "channels_last"), [("auto", True), ("false", False)])
def test_channels_last_flag_sets_the_model_layout(tiny_splits, flag, channels_last):
    cfg, method = _dann(1, **{"train.channels_last": flag})
    train(method, tiny_splits, cfg, torch.device("cpu"))
    w = method.backbone.net[3].weight  # conv 32 -> 48: the layouts differ
    assert w.is_contiguous(memory_format=torch.channels_last) == channels_last
    assert w.is_contiguous() != channels_last


@pytest.mark.parametrize(("flag", "dtype"), [("true", torch.bfloat16), ("false", torch.float32)])
def test_amp_flag_autocasts_steps_and_evaluations_in_bf16(tiny_splits, flag, dtype):
    cfg, method = _dann(2, **{"train.amp": flag})
    seen = []
    method.backbone.register_forward_hook(lambda mod, i, out: seen.append(out.dtype))
    result = train(method, tiny_splits, cfg, torch.device("cpu"))
    assert set(seen) == {dtype}
    assert next(method.parameters()).dtype == torch.float32, "weights stay fp32"
    assert all(isinstance(v, float) for v in result.final_parts.values())
