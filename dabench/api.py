"""The library entry points the CLI calls: run, sweep, report."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dabench.config import RunConfig, config_hash
from dabench.errors import UserError
from dabench.records import SCHEMA_VERSION, read_record, record_path, write_curve, write_record
from dabench.sweep import Suite, find_suite, load_suite, suite_configs  # noqa: F401  (public API)

log = logging.getLogger(__name__)


def ensure_results_dir(results: Path, create: bool) -> Path:
    """Results dirs are created on demand only under an existing parent, so a
    typo in a path is reported instead of silently scattering records."""
    results = Path(results)
    if results.is_dir():
        return results
    if results.exists():
        raise UserError(f"results path {results} exists but is not a directory")
    if create and results.parent.is_dir():
        results.mkdir()
        return results
    raise UserError(f"results directory {results} does not exist; create it or pass --results DIR")


def run_id_for(cfg: RunConfig) -> tuple[str, str, int]:
    from dabench.data import PAIRS

    pair = PAIRS.get(cfg.pair)
    h = config_hash(cfg, pair.version)
    return f"{cfg.method}__{cfg.pair}__s{cfg.seed}__{h}", h, pair.version


def existing_record(cfg: RunConfig, results: Path) -> dict[str, Any] | None:
    run_id, _, _ = run_id_for(cfg)
    path = record_path(results, run_id)
    rec = read_record(path) if path.exists() else None
    return rec if rec is not None and rec.get("status") == "ok" else None


def _finite(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), 6)


def run(
    cfg: RunConfig,
    results: Path,
    force: bool = False,
    progress: Callable[[int, int, dict[str, float]], None] | None = None,
) -> tuple[dict[str, Any], bool]:
    """Train and evaluate one config; returns ``(record, reused)``.

    An existing successful record with the same config hash is returned as is
    unless ``force``. Failed and diverged runs are recorded too.
    """
    from dabench.data import PAIRS, DataContext, make_splits
    from dabench.methods import METHODS
    from dabench.models import build_backbone
    from dabench.selection import SELECTORS
    from dabench.train import DivergedError, resolve_device, seed_everything, train

    results = ensure_results_dir(results, create=True)
    run_id, h, pair_version = run_id_for(cfg)
    if not force:
        rec = existing_record(cfg, results)
        if rec is not None:
            return rec, True

    pair = PAIRS.get(cfg.pair)
    method_cls = METHODS.get(cfg.method)
    device = resolve_device(cfg.device)
    ctx = DataContext.default(cfg.data.root, cfg.data.download)
    splits = make_splits(pair, ctx, cfg.data.split_seed, need_source=method_cls.needs_source_images)

    from dabench.provenance import provenance

    record: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "run_id": run_id,
        "method": cfg.method,
        "pair": cfg.pair,
        "pair_version": pair_version,
        "seed": cfg.seed,
        "backbone": cfg.backbone,
        "target_access": method_cls.target_access.value,
        "config": cfg.to_dict(),
        "config_hash": h,
        "status": "ok",
        "error": None,
        "splits": splits.sizes(),
        "provenance": provenance(device),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    t0 = time.perf_counter()
    seed_everything(cfg.seed)
    backbone = build_backbone(cfg.backbone, pair.input_shape, pretrained=cfg.backbone_pretrained)
    # k-shot episode, frozen-feature cache and n-way relabelling (dabench/episode.py).
    from dabench.episode import build_method, extra_metrics

    splits, method = build_method(cfg, pair, method_cls, splits, backbone, device)
    record["splits"] = splits.sizes()
    try:
        result = train(method, splits, cfg, device, progress=progress)
    except DivergedError as e:
        record.update(
            status="diverged", error=str(e), timing={"total_seconds": time.perf_counter() - t0}
        )
        write_record(results, record)
        return record, False
    except Exception as e:
        record.update(
            status="failed",
            error=f"{type(e).__name__}: {e}",
            timing={"total_seconds": time.perf_counter() - t0},
        )
        write_record(results, record)
        raise

    rule = cfg.train.selection
    head = result.selections[rule]
    record["metrics"] = {
        "target_test_acc": _finite(head.target_test_acc),
        "target_test_f1": _finite(head.target_test_f1),
        "source_val_acc": _finite(head.source_val_acc),
    }
    record["metrics"].update(extra_metrics(method, splits, device))
    record["selection"] = {
        "rule": rule,
        "step": head.step,
        "uses_target_labels": SELECTORS.get(rule).uses_target_labels,
    }
    record["by_selection"] = {
        name: {
            "step": r.step,
            "target_test_acc": _finite(r.target_test_acc),
            "target_test_f1": _finite(r.target_test_f1),
            "source_val_acc": _finite(r.source_val_acc),
            "uses_target_labels": SELECTORS.get(name).uses_target_labels,
        }
        for name, r in sorted(result.selections.items())
    }
    record["final_losses"] = {k: _finite(v) for k, v in result.final_parts.items()}
    record["timing"] = {
        "steps": result.steps_run,
        "train_seconds": round(result.train_seconds, 3),
        "eval_seconds": round(result.eval_seconds, 3),
        "total_seconds": round(time.perf_counter() - t0, 3),
    }
    write_curve(results, run_id, result.curve)
    write_record(results, record)
    return record, False


# ------------------------------------------------------------------ sweeps


def sweep(
    configs: list[RunConfig],
    results: Path,
    force: bool = False,
    progress_factory: Callable[[RunConfig], Any] | None = None,
) -> Iterator[tuple[RunConfig, dict[str, Any], bool]]:
    """Run configs in order, reusing recorded ones; yields ``(cfg, record, reused)``."""
    results = ensure_results_dir(results, create=True)
    for cfg in configs:
        progress = progress_factory(cfg) if progress_factory else None
        rec, reused = run(cfg, results, force=force, progress=progress)
        yield cfg, rec, reused


# ----------------------------------------------------------------- listing


def describe(what: str) -> tuple[list[tuple[Any, ...]], list[str]]:
    """Rows and column names describing a registry, for `dabench list`."""
    from dabench.data import PAIRS
    from dabench.methods import METHODS
    from dabench.models import BACKBONES
    from dabench.selection import SELECTORS

    if what == "methods":
        rows = [
            (
                n,
                c.description,
                c.paper,
                c.target_access.value,
                ", ".join(f"{k}={v.default}" for k, v in c.hparams.items()) or "–",
            )
            for n, c in METHODS.items()
        ]
        return rows, ["name", "description", "paper", "target data seen", "hyperparameters"]
    if what == "pairs":
        rows = [
            (
                n,
                p.description,
                len(p.classes),
                "x".join(map(str, p.input_shape)),
                p.default_backbone,
                p.version,
            )
            for n, p in PAIRS.items()
        ]
        return rows, ["name", "description", "classes", "input", "backbone", "version"]
    if what == "backbones":
        return [(n, b.description, b.pretrained) for n, b in BACKBONES.items()], [
            "name",
            "description",
            "pretrained",
        ]
    if what == "selectors":
        rows = [
            (n, s.description, "yes (oracle)" if s.uses_target_labels else "no")
            for n, s in SELECTORS.items()
        ]
        return rows, ["name", "description", "reads target labels"]
    raise UserError(f"cannot list {what!r}; choose methods, pairs, backbones or selectors")


# ------------------------------------------------------------------ report


def report(
    results: Path,
    metric: str = "acc",
    selection: str = "source_val",
    out: Path | None = None,
    fmt: str = "md",
    suite: str | None = None,
):
    """Build the leaderboard from records; write md and csv into ``results``
    (and ``out`` in ``fmt``). With ``suite``, only that suite's methods, pairs
    and seeds count, whatever else the directory holds.
    Returns ``(leaderboard, written_paths)``."""
    from dabench.records import atomic_write_text, load_records
    from dabench.report import build_leaderboard, to_csv, to_markdown
    from dabench.selection import SELECTORS

    results = ensure_results_dir(results, create=False)
    SELECTORS.get(selection)
    if fmt not in ("md", "csv"):
        raise UserError(f"unknown format {fmt!r}; choose md or csv")
    if out is not None and not Path(out).parent.is_dir():
        raise UserError(f"cannot write {out}: directory {Path(out).parent} does not exist")
    records = load_records(results)
    if suite is not None:
        spec = load_suite(find_suite(suite))
        records = [
            r
            for r in records
            if r["method"] in spec.methods and r["pair"] in spec.pairs and r["seed"] in spec.seeds
        ]
    lb = build_leaderboard(records, metric=metric, selection=selection)
    suffix = metric if selection == "source_val" else f"{metric}_{selection}"
    if suite is not None:
        suffix = f"{spec.name}_{suffix}"
    texts = {"md": to_markdown(lb), "csv": to_csv(lb)}
    written = []
    for ext, text in texts.items():
        path = results / f"leaderboard_{suffix}.{ext}"
        atomic_write_text(path, text)
        written.append(path)
    if out is not None:
        atomic_write_text(Path(out), texts[fmt])
        written.append(Path(out))
    return lb, written
