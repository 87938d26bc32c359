"""The whole trainer (``dabench.train.train``: data path, schedule, logging,
one evaluation, selection, test scoring) against the same number of bare
hand-written DANN steps on the same data, mnist2digits.

    python benchmarks/perf/overhead.py [--quick] [--device auto] [--threads N]

Three ratios: the trainer's wall time over the bare steps'; its step loop alone
(``train_seconds``, evaluation excluded) over the bare steps'; and its wall time
over bare steps plus one hand-written evaluation of the same splits (what a
script would also have to do). Target: the step loop within 1.02x.
"""

from __future__ import annotations

import statistics
import time

import _common  # noqa: F401  (first: puts this checkout on the path)
import torch
import torch.nn.functional as F
from _common import parser, setup, sync, table, write_section
from step import _Reverse


def _fresh(cfg, pair, steps):
    from dabench.methods import METHODS
    from dabench.models import build_backbone
    from dabench.train import seed_everything

    seed_everything(0)
    return METHODS.get("dann")(
        build_backbone(cfg.backbone, pair.input_shape), 10, cfg.hparams, steps
    )


def run_trainer(cfg, pair, splits, device) -> tuple[float, float]:
    from dabench.train import train

    method = _fresh(cfg, pair, cfg.train.steps)
    sync(device)
    t = time.perf_counter()
    result = train(method, splits, cfg, device)
    sync(device)
    return time.perf_counter() - t, result.train_seconds


def run_bare(cfg, pair, splits, device, with_eval: bool) -> float:
    tc = cfg.train
    method = _fresh(cfg, pair, tc.steps)
    fmt = torch.channels_last
    method.to(device, memory_format=fmt).train()
    opt = torch.optim.SGD(method.parameters(), lr=tc.lr, momentum=tc.momentum)
    bs = tc.batch_size
    xs, ys = splits.source_train.x.to(device), splits.source_train.y.to(device)
    xt = splits.target_train.x.to(device)
    zeros, ones = torch.zeros(bs, device=device), torch.ones(bs, device=device)
    g = torch.Generator().manual_seed(1)
    sync(device)
    t = time.perf_counter()

    def epoch(n: int) -> list[torch.Tensor]:
        perm = torch.randperm(n, generator=g)[: n - n % bs].to(device)
        return list(perm.view(-1, bs).unbind(0))[::-1]

    ps: list[torch.Tensor] = []
    pt: list[torch.Tensor] = []
    for _ in range(tc.steps):
        ps = ps or epoch(len(xs))
        pt = pt or epoch(len(xt))
        i, j = ps.pop(), pt.pop()
        x = torch.cat([xs[i], xt[j]]).contiguous(memory_format=fmt)
        f = method.backbone(x)
        ce = F.cross_entropy(method.classifier(f[:bs]), ys[i])
        d = method.discriminator(_Reverse.apply(f, 0.5)).squeeze(1)
        dom = F.binary_cross_entropy_with_logits(d[:bs], zeros)
        dom = dom + F.binary_cross_entropy_with_logits(d[bs:], ones)
        opt.zero_grad(set_to_none=True)
        (ce + dom).backward()
        opt.step()
    if with_eval:
        method.eval()
        with torch.no_grad():
            for ds in (splits.source_val, splits.target_val, splits.target_test):
                for k in range(0, len(ds), 512):
                    x = ds.x[k : k + 512].to(device).contiguous(memory_format=fmt)
                    (method.predict(x).argmax(1).cpu() == ds.y[k : k + 512]).float().mean()
    sync(device)
    return time.perf_counter() - t


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    device = setup(args)
    from dabench.config import build_config
    from dabench.data import PAIRS, DataContext, make_splits

    steps, rounds = (20, 1) if args.quick else (args.steps, args.rounds)
    pair = PAIRS.get("mnist2digits")
    t = time.perf_counter()
    splits = make_splits(pair, DataContext.default(), 0)
    split_s = time.perf_counter() - t
    rows = []
    for bs in (32, 64):
        over = {"train.steps": steps, "train.eval_every": steps, "train.batch_size": bs}
        cfg = build_config("dann", pair.name, overrides={**over, "device": str(device)})
        run_bare(cfg, pair, splits, device, False)  # warm-up: allocator, kernels, caches
        tr, loop, bare, bare_eval = [], [], [], []
        for _ in range(rounds):
            total, train_s = run_trainer(cfg, pair, splits, device)
            tr.append(total)
            loop.append(train_s)
            bare.append(run_bare(cfg, pair, splits, device, False))
            bare_eval.append(run_bare(cfg, pair, splits, device, True))
        m = {
            k: statistics.median(v)
            for k, v in dict(tr=tr, loop=loop, bare=bare, be=bare_eval).items()
        }
        rows.append(
            [
                f"{bs}+{bs}",
                f"{m['tr']:.2f}",
                f"{m['loop']:.2f}",
                f"{m['bare']:.2f}",
                f"{m['be']:.2f}",
                f"{m['tr'] / m['bare']:.3f}x",
                f"{m['loop'] / m['bare']:.3f}x",
                f"{m['tr'] / m['be']:.3f}x",
            ]
        )
    body = (
        f"DANN, {steps} steps on mnist2digits, one evaluation (at the last step); median of "
        f"{rounds} round(s), trainer and bare runs interleaved. Splits built once beforehand "
        f"({split_s:.2f} s, cached for every run of a process).\n\n"
        + table(
            [
                "batch",
                "trainer s",
                "trainer step loop s",
                "bare steps s",
                "bare + 1 eval s",
                "trainer / bare",
                "step loop / bare",
                "trainer / (bare + eval)",
            ],
            rows,
        )
    )
    write_section("overhead", "Trainer overhead over bare steps", body, args)


if __name__ == "__main__":
    main()
