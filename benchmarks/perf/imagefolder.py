"""Images per second of DANN steps on a 224-px image-folder pair with
``efficientnet_lite0``, before and after the decoded-image cache: before, PIL
decodes and resizes every image of every batch in the training process (the
cache switched off, no loader workers); after, the pair is decoded once into a
memory-mapped uint8 tensor and batches are gathered by index.

    python benchmarks/perf/imagefolder.py [--quick] [--device auto] [--threads N]

The JPEGs (``--images`` per domain, 4 classes, 320 x 256 px so that every one
is resized) are generated in a temporary folder and deleted afterwards.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (first: puts this checkout on the path)
import numpy as np
from _common import parser, setup, sync, table, write_section
from PIL import Image

CLASSES = ("a", "b", "c", "d")


def make_pair(root: Path, per_domain: int) -> Path:
    rng = np.random.default_rng(0)
    for dom in ("source", "target"):
        for k in range(per_domain):
            cls = CLASSES[k % len(CLASSES)]
            folder = root / dom / cls
            folder.mkdir(parents=True, exist_ok=True)
            # Smooth noise (upsampled), so JPEG sizes and decode costs resemble photos.
            small = (rng.random((20, 16, 3)) * 255).astype(np.uint8)
            img = Image.fromarray(small).resize((256, 320), Image.Resampling.BILINEAR)
            img.save(folder / f"{k}.jpg", quality=90)
    path = root / "pair.yaml"
    path.write_text(
        f"name: perf_src2perf_tgt\nsource: {root / 'source'}\ntarget: {root / 'target'}\n"
        f"classes: [{', '.join(CLASSES)}]\nimage_size: 224\nbackbone: efficientnet_lite0\n"
    )
    return path


def run(pair_file: Path, root: Path, steps: int, bs: int, device, cached: bool):
    """Seconds to build the splits, and the training result of one short run."""
    from dabench.config import build_config
    from dabench.data import PAIRS, DataContext, make_splits
    from dabench.data import pairs as pairs_mod
    from dabench.methods import METHODS
    from dabench.models import build_backbone
    from dabench.train import seed_everything, train

    os.environ["DABENCH_DECODED_CACHE"] = str(root / "decoded") if cached else "off"
    os.environ["DABENCH_LOADER_WORKERS"] = "0"
    pairs_mod._load_domain.cache_clear()
    over = {"train.steps": steps, "train.eval_every": steps, "train.batch_size": bs}
    cfg = build_config("dann", str(pair_file), overrides={**over, "device": str(device)})
    pair = PAIRS.get(cfg.pair)
    t = time.perf_counter()
    splits = make_splits(pair, DataContext.default(root), 0)
    split_s = time.perf_counter() - t
    seed_everything(0)
    backbone = build_backbone(cfg.backbone, pair.input_shape, pretrained=True)
    method = METHODS.get("dann")(backbone, len(pair.classes), cfg.hparams, steps)
    sync(device)
    return split_s, train(method, splits, cfg, device)


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=200, help="images per domain")
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--batch", type=int, default=32, help="per domain")
    args = p.parse_args()
    device = setup(args)
    n, steps, bs = (40, 2, 4) if args.quick else (args.images, args.steps, args.batch)
    rows = []
    with tempfile.TemporaryDirectory(prefix="dabench-perf-") as tmp:
        root = Path(tmp)
        pair_file = make_pair(root, n)
        results = {}
        for label, cached in (
            ("decoded by PIL every step", False),
            ("first run: cache built", True),
            ("decoded cache (memory-mapped)", True),
        ):
            split_s, r = run(pair_file, root, steps, bs, device, cached)
            results[label] = r
            images = 2 * bs * r.steps_run
            rows.append(
                [
                    label,
                    f"{split_s:.2f}",
                    f"{1000 * r.train_seconds / r.steps_run:.0f}",
                    f"{images / r.train_seconds:.1f}",
                ]
            )
        cache_mb = sum(f.stat().st_size for f in (root / "decoded").glob("*.pt")) / 2**20
    before = results["decoded by PIL every step"]
    after = results["decoded cache (memory-mapped)"]
    speedup = (before.train_seconds / before.steps_run) / (after.train_seconds / after.steps_run)
    body = (
        f"DANN with efficientnet_lite0 (pretrained), {n} + {n} JPEGs of 320 x 256 px resized "
        f"to 224, batch {bs}+{bs}, {steps} steps per run (step loop only; the one evaluation "
        f"is excluded). Cache on disk: {cache_mb:.1f} MB. Per-step speed-up with the cache: "
        f"**{speedup:.2f}x** (target >= 2x).\n\n"
        + table(["data path", "load + split s", "ms / step", "images / s"], rows)
    )
    write_section("imagefolder", "Image-folder pair before and after the decoded cache", body, args)


if __name__ == "__main__":
    main()
