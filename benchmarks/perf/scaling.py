"""How the cost of one run grows with its step budget and with the size of
the data: a 2 x 2 grid of DANN runs on mnist2digits (steps S and 2S; every
split at half and at full size), each timed as a whole and split into the step
loop and the evaluations.

    python benchmarks/perf/scaling.py [--quick] [--device auto] [--threads N]
"""

from __future__ import annotations

import time

import _common  # noqa: F401  (first: puts this checkout on the path)
import torch
from _common import parser, setup, sync, table, write_section


def shrink(splits, frac: float):
    """Every split cut to its first ``frac`` (the splits are already shuffled
    by the stratified split, so the class mix stays)."""
    from dabench.data.pairs import PairSplits

    return PairSplits(
        **{
            k: ds.subset(torch.arange(max(1, int(len(ds) * frac))))
            for k, ds in vars(splits).items()
        }
    )


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=300, help="S: the smaller step budget")
    p.add_argument("--eval-every", type=int, default=100)
    args = p.parse_args()
    device = setup(args)
    from dabench.config import build_config
    from dabench.data import PAIRS, DataContext, make_splits
    from dabench.methods import METHODS
    from dabench.models import build_backbone
    from dabench.train import seed_everything, train

    steps, every = (10, 10) if args.quick else (args.steps, args.eval_every)
    pair = PAIRS.get("mnist2digits")
    full = make_splits(pair, DataContext.default(), 0)
    rows = []
    for frac in (0.5, 1.0):
        splits = full if frac == 1.0 else shrink(full, frac)
        for s in (steps, 2 * steps):
            over = {"train.steps": s, "train.eval_every": every, "device": str(device)}
            cfg = build_config("dann", pair.name, overrides=over)
            seed_everything(0)
            method = METHODS.get("dann")(
                build_backbone(cfg.backbone, pair.input_shape), 10, cfg.hparams, s
            )
            sync(device)
            t = time.perf_counter()
            r = train(method, splits, cfg, device)
            sync(device)
            total = time.perf_counter() - t
            rows.append(
                [
                    sum(splits.sizes().values()),
                    s,
                    len(r.curve),
                    f"{total:.2f}",
                    f"{r.train_seconds:.2f}",
                    f"{r.eval_seconds:.2f}",
                    f"{1000 * r.train_seconds / s:.2f}",
                    f"{1000 * r.eval_seconds / max(len(r.curve), 1):.0f}",
                ]
            )
    body = (
        f"DANN on mnist2digits, batch {cfg.train.batch_size}+{cfg.train.batch_size}, an "
        f"evaluation every {every} steps. Images: all splits together.\n\n"
        + table(
            [
                "images",
                "steps",
                "evaluations",
                "run s",
                "step loop s",
                "evaluation s",
                "ms / step",
                "ms / evaluation",
            ],
            rows,
        )
    )
    write_section("scaling", "Cost of one run vs steps and data size", body, args)


if __name__ == "__main__":
    main()
