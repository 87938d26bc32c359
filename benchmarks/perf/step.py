"""One DANN step three ways, on the same modules and the same batch: dabench's
(``Method.train_step`` plus the trainer's per-step bookkeeping), a minimal
hand-written step, and pytorch-adapt's DANN adapter. Median of the timed steps
after warm-up, the three interleaved round by round.

    python benchmarks/perf/step.py [--quick] [--device auto] [--threads N]
"""

from __future__ import annotations

import _common  # noqa: F401  (first: puts this checkout on the path)
import torch
import torch.nn.functional as F
from _common import median_ms, parser, setup, table, time_chunks, write_section
from torch import nn


class _Reverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, coeff):
        ctx.coeff = coeff
        return x.view_as(x)

    @staticmethod
    def backward(ctx, g):
        return -ctx.coeff * g, None


def variants(bs: int, device: torch.device):
    """The three step functions over one DANN model and one fixed batch."""
    from pytorch_adapt.adapters import DANN as PaDANN
    from pytorch_adapt.containers import Models, Optimizers

    from dabench.config import amp_enabled, build_config, channels_last_enabled
    from dabench.data import PAIRS, DataContext, make_splits
    from dabench.data.base import Batch
    from dabench.methods import METHODS
    from dabench.methods.base import FiniteChecks
    from dabench.models import build_backbone
    from dabench.train import autocast, host_floats, lr_factor

    pair = PAIRS.get("mnist2digits")
    splits = make_splits(pair, DataContext.default(), 0)
    cfg = build_config("dann", pair.name, overrides={"device": str(device)})
    tc = cfg.train
    torch.manual_seed(0)
    method = METHODS.get("dann")(
        build_backbone(cfg.backbone, pair.input_shape), 10, cfg.hparams, tc.steps
    )
    amp = amp_enabled(tc, device.type)
    fmt = torch.channels_last if channels_last_enabled(tc, device.type) else torch.contiguous_format
    method.to(device, memory_format=fmt).train()
    idx = torch.arange(bs)
    src = Batch(*splits.source_train.batch(idx)).to(device, fmt)
    tgt = Batch(splits.target_train.batch(idx)[0]).to(device, fmt)

    groups = method.optimizer_groups()["main"]
    for g in groups:
        g["lr"] = tc.lr * g["lr_mult"]
    opt = torch.optim.SGD(groups, lr=tc.lr, momentum=tc.momentum, weight_decay=tc.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: lr_factor(tc.lr_schedule, s / tc.steps)
    )
    checks = FiniteChecks()
    state = {"step": 0}

    def dabench_step() -> None:
        state["step"] = s = state["step"] + 1
        with autocast(device, amp):
            total, parts = method.train_step(src, tgt, s, {"main": opt})
        checks.add(total, s)
        sched.step()
        if s % tc.log_every == 0:
            checks.flush()
            host_floats({"loss": total, **parts})

    bare_opt = torch.optim.SGD(method.parameters(), lr=tc.lr, momentum=tc.momentum)
    zeros, ones = torch.zeros(bs, device=device), torch.ones(bs, device=device)

    def bare_step() -> None:
        with autocast(device, amp):
            f = method.backbone(torch.cat([src.x, tgt.x]))
            ce = F.cross_entropy(method.classifier(f[:bs]), src.y)
            d = method.discriminator(_Reverse.apply(f, 0.5)).squeeze(1).float()
            dom = F.binary_cross_entropy_with_logits(d[:bs], zeros)
            dom = dom + F.binary_cross_entropy_with_logits(d[bs:], ones)
        bare_opt.zero_grad(set_to_none=True)
        (ce + dom).backward()
        bare_opt.step()

    adapter = PaDANN(
        models=Models(
            {
                "G": method.backbone,
                "C": method.classifier,
                "D": nn.Sequential(method.discriminator, nn.Flatten(0)),
            }
        ),
        optimizers=Optimizers((torch.optim.SGD, {"lr": tc.lr, "momentum": tc.momentum})),
    )
    pa_batch = {
        "src_imgs": src.x,
        "src_labels": src.y,
        "target_imgs": tgt.x,
        "src_domain": zeros,
        "target_domain": ones,
    }

    def adapt_step() -> None:
        with autocast(device, amp):
            adapter.training_step(pa_batch)

    return {"dabench": dabench_step, "bare": bare_step, "pytorch-adapt": adapt_step}


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=40, help="timed steps per variant and round")
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    device = setup(args)
    steps, rounds, warmup = (3, 1, 1) if args.quick else (args.steps, args.rounds, 10)
    rows = []
    for bs in (32, 64):
        fns = variants(bs, device)
        times: dict[str, list[float]] = {k: [] for k in fns}
        for r in range(rounds):
            for name, fn in fns.items():
                times[name] += time_chunks(fn, device, steps, warmup if r == 0 else 0)
        base = median_ms(times["bare"])
        for name, ts in times.items():
            ms = median_ms(ts)
            rows.append([f"{bs}+{bs}", name, f"{ms:.2f}", f"{ms / base:.2f}x", len(ts)])
    body = (
        "DANN on mnist2digits (dann_digits CNN), one fixed batch already on the device; "
        "median ms per step; ratio to the hand-written step.\n\n"
        + table(["batch", "step", "median ms", "vs bare", "timed steps"], rows)
    )
    write_section("step", "One DANN step: dabench vs hand-written vs pytorch-adapt", body, args)


if __name__ == "__main__":
    main()
