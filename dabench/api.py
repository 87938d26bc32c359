"""The library entry points the CLI calls: run, report, listings.

Sweeps (suites, launchers) live in :mod:`dabench.sweep`, which calls this
module; this module never imports :mod:`dabench.sweep`."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from dabench.config import TRAINER_VERSION, RunConfig, config_hash
from dabench.errors import UserError
from dabench.records import (
    RunRecord,
    build_record,
    read_record,
    record_path,
    write_curve,
    write_record,
)
from dabench.runlock import RunningElsewhere, run_lock

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
    """``(run_id, config_hash, pair_version)``: the run key covers the resolved
    config and the versions of the method, the pair and the trainer."""
    from dabench.data import PAIRS
    from dabench.methods import METHODS

    pair = PAIRS.get(cfg.pair)
    cls = METHODS.get(cfg.method)
    h = config_hash(cfg, pair.version, cls.version, cls.quiet_defaults())
    return f"{cfg.method}__{cfg.pair}__s{cfg.seed}__{h}", h, pair.version


# A recorded run with one of these statuses is a result: rerunning the same
# config and seed would reproduce it. Failed runs (a crash) are retried.
FINAL_STATUSES = ("ok", "collapsed", "diverged")


def existing_record(cfg: RunConfig, results: Path) -> RunRecord | None:
    run_id, _, _ = run_id_for(cfg)
    path = record_path(results, run_id)
    rec = read_record(path) if path.exists() else None
    return rec if rec is not None and rec.status in FINAL_STATUSES else None


def run(
    cfg: RunConfig,
    results: Path,
    force: bool = False,
    progress: Callable[[int, int, dict[str, float]], None] | None = None,
    wait: bool = False,
) -> tuple[RunRecord, bool]:
    """Train and evaluate one config; returns ``(record, reused)``.

    An existing record of the same run key (ok, collapsed or diverged) is
    returned as is unless ``force``; a failed one is retried. The run key's
    lock (:mod:`dabench.runlock`) is held from that check until the record is
    written, so processes sharing ``results`` never run one key twice: if
    another process holds it, :class:`~dabench.runlock.RunningElsewhere` is
    raised, or with ``wait`` this blocks until it is free.

    Bad input (:class:`UserError`) propagates with no record. Any other
    exception, out-of-memory included, is recorded as ``failed`` with its type,
    message and traceback tail, and that record is returned, so a suite goes on.
    Ctrl-C and SIGTERM propagate and write no record: the rerun resumes.
    """
    results = ensure_results_dir(results, create=True)
    run_id, h, pair_version = run_id_for(cfg)
    with run_lock(results, run_id, wait=wait):
        if not force:
            rec = existing_record(cfg, results)
            if rec is not None:
                return rec, True
        record = _train_and_record(cfg, results, run_id, h, pair_version, progress)
        return record, False


def _failure_reason(e: BaseException) -> str:
    import torch

    text = f"{type(e).__name__}: {e}".strip()
    oom = (MemoryError,) + (
        (torch.cuda.OutOfMemoryError,) if hasattr(torch.cuda, "OutOfMemoryError") else ()
    )
    return f"out of memory ({text})" if isinstance(e, oom) else text


def _traceback_tail(e: BaseException, lines: int = 12, chars: int = 4000) -> str:
    text = "".join(traceback.format_exception(type(e), e, e.__traceback__))
    return "\n".join(text.rstrip().splitlines()[-lines:])[-chars:]


def _train_and_record(
    cfg: RunConfig,
    results: Path,
    run_id: str,
    h: str,
    pair_version: int,
    progress: Callable[[int, int, dict[str, float]], None] | None,
) -> RunRecord:
    from dabench.data import PAIRS, DataContext, make_splits, skipped_images
    from dabench.episode import build_method, extra_metrics
    from dabench.methods import METHODS
    from dabench.models import build_backbone
    from dabench.provenance import provenance
    from dabench.train import DivergedError, resolve_device, seed_everything, train

    pair = PAIRS.get(cfg.pair)
    method_cls = METHODS.get(cfg.method)
    device = resolve_device(cfg.device)
    info: dict[str, Any] = {"splits": {}, "provenance": provenance(device)}

    def make(**kw: Any) -> RunRecord:
        return build_record(
            cfg,
            run_id=run_id,
            config_hash=h,
            method_cls=method_cls,
            pair_version=pair_version,
            trainer_version=TRAINER_VERSION,
            total_seconds=time.perf_counter() - t0,
            **info,
            **kw,
        )

    t0 = time.perf_counter()
    try:
        ctx = DataContext.default(cfg.data.root, cfg.data.download, cfg.data.bad_images)
        splits = make_splits(
            pair, ctx, cfg.data.split_seed, need_source=method_cls.needs_source_images
        )
        data_extra = skipped_images(pair, ctx, method_cls.needs_source_images)
        seed_everything(cfg.seed)
        backbone = build_backbone(
            cfg.backbone, pair.input_shape, pretrained=cfg.backbone_pretrained
        )
        # k-shot episode, frozen-feature cache and n-way relabelling (dabench/episode.py).
        splits, method = build_method(cfg, pair, method_cls, splits, backbone, device)
        info["splits"] = splits.sizes()
        result = train(method, splits, cfg, device, progress=progress)
        record = make(result=result, extra={**data_extra, **extra_metrics(method, splits, device)})
        write_curve(results, run_id, result.curve)
        from dabench import features

        if features.requested():
            features.save_sample(method, splits, device, results, run_id, features.requested())
    except DivergedError as e:
        record = make(status="diverged", error=str(e))
    except UserError:
        raise
    except Exception as e:
        # Any crash is a record, not the end of a suite; the trace tail says where.
        record = make(status="failed", error=_failure_reason(e), traceback=_traceback_tail(e))
        # Info only: the caller reports the failed record (the CLI as an error line).
        log.info("%s failed: %s", run_id, record.error)
        _free_accelerator()
    write_record(results, record)
    return record


def _free_accelerator() -> None:
    """After a failure (an out-of-memory above all) give cached GPU memory back
    so the next run of a suite starts clean."""
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def sweep(
    configs: list[RunConfig],
    results: Path,
    force: bool = False,
    progress_factory: Callable[[RunConfig], Any] | None = None,
    on_elsewhere: Callable[[RunConfig], None] | None = None,
) -> Iterator[tuple[RunConfig, RunRecord, bool]]:
    """Run configs in order in this process, reusing recorded ones; yields
    ``(cfg, record, reused)`` once per config. A config whose key another
    process is running (``on_elsewhere`` is told) is checked again after the
    others: this waits for that process and reuses its record, or runs the key
    if it failed. Suites, trials and parallel launchers are in
    :mod:`dabench.sweep`, which calls this module (never the reverse)."""
    results = ensure_results_dir(results, create=True)
    later = []
    for cfg in configs:
        progress = progress_factory(cfg) if progress_factory else None
        try:
            rec, reused = run(cfg, results, force=force, progress=progress)
        except RunningElsewhere:
            log.info("%s is running elsewhere; checking it again at the end", run_id_for(cfg)[0])
            if on_elsewhere is not None:
                on_elsewhere(cfg)
            later.append(cfg)
            continue
        yield cfg, rec, reused
    for cfg in later:
        progress = progress_factory(cfg) if progress_factory else None
        rec, reused = run(cfg, results, progress=progress, wait=True)
        yield cfg, rec, reused


def recall_pairs(names: list[str], results: Path) -> None:
    """Register the user pairs among ``names`` that runs in ``results`` were
    made on (from the pair files their records name), so ``--pair NAME`` works
    after ``--pair FILE.yaml`` in another process."""
    from dabench.data import PAIRS

    wanted = {n for n in names if n not in PAIRS and not n.endswith((".yaml", ".yml"))}
    if not wanted or not Path(results).is_dir():
        return
    from dabench.data.user_pairs import register_recorded_pairs
    from dabench.records import load_records

    register_recorded_pairs(r for r in load_records(results) if r.pair in wanted)


# ----------------------------------------------------------------- listing


def describe(what: str, long: bool = False) -> tuple[list[tuple[Any, ...]], list[str]]:
    """Rows and column names describing a registry, for `dabench list`;
    ``long`` adds the methods' one-line descriptions."""
    from dabench.data import PAIRS
    from dabench.methods import METHODS
    from dabench.models import BACKBONES
    from dabench.selection import SELECTORS

    if what == "methods":
        rows = []
        for n, c in METHODS.items():
            access = c.target_access.value
            if c.target_access.reads_target_labels:
                access += " (reads target labels)"
            row = [n, c.family or "–", access, c.paper, METHODS.origin(n), c.version]
            if long:
                row.insert(1, c.description)
            row += [
                "; ".join(
                    f"{k}={v.default}" + (f" ~ {v.search.describe()}" if v.search else "")
                    for k, v in c.hparams.items()
                )
                or "–",
                ", ".join(f"{k}={v}" for k, v in c.train_defaults.items()) or "–",
            ]
            rows.append(tuple(row))
        columns = ["name", "family", "target data seen", "paper", "origin", "version"]
        if long:
            columns.insert(1, "description")
        return rows, [*columns, "hyperparameters: default ~ search", "own train defaults"]
    if what == "search":
        from dabench.config import TRAIN_SEARCH, TrainConfig, load_defaults

        defaults = load_defaults()
        rows = [
            (
                "(every method)",
                f"train.{k}",
                defaults.get(f"train.{k}", getattr(TrainConfig(), k)),
                d.describe(),
            )
            for k, d in TRAIN_SEARCH.items()
        ]
        for n, c in METHODS.items():
            for k, v in c.train_defaults.items():
                if k in TRAIN_SEARCH:
                    rows.append((n, f"train.{k}", v, TRAIN_SEARCH[k].describe()))
            for k, v in c.hparams.items():
                rows.append(
                    (n, f"hparams.{k}", v.default, v.search.describe() if v.search else "fixed")
                )
        return rows, ["method", "key", "default (trial 0)", "search distribution (trials > 0)"]
    if what == "pairs":
        rows = [
            (
                n,
                p.description,
                len(p.classes),
                "x".join(map(str, p.input_shape)),
                p.default_backbone,
                p.version,
                PAIRS.origin(n),
            )
            for n, p in PAIRS.items()
        ]
        return rows, ["name", "description", "classes", "input", "backbone", "version", "origin"]
    if what == "backbones":
        rows = [(n, b.description, b.pretrained, BACKBONES.origin(n)) for n, b in BACKBONES.items()]
        return rows, [
            "name",
            "description",
            "pretrained",
            "origin",
        ]
    if what == "selectors":
        rows = [
            (n, s.description, "yes (oracle)" if s.uses_target_labels else "no")
            for n, s in SELECTORS.items()
        ]
        return rows, ["name", "description", "reads target labels"]
    raise UserError(f"cannot list {what!r}; choose methods, search, pairs, backbones or selectors")


def data_status(ctx: Any) -> list[dict[str, Any]]:
    """Every pair's data status as plain data (``data status --json``)."""
    from dataclasses import asdict

    from dabench.data.status import pair_status

    def one(s: Any) -> dict[str, Any]:
        d = asdict(s)
        d["paths"] = [str(p) for p in s.paths]
        return d

    return [
        {"pair": name, "source": one(src), "target": one(tgt)}
        for name, src, tgt in pair_status(ctx)
    ]


# ------------------------------------------------------------------ report


REPORT_FORMATS = ("md", "csv", "latex", "html", "json")


def render(lb: Any, fmt: str, results: Path, show_trials: bool = False) -> str:
    """The leaderboard as text in ``fmt`` (one of :data:`REPORT_FORMATS`)."""
    from dabench.report import export, latex
    from dabench.report import render as md

    if fmt == "md":
        return md.to_markdown(lb, show_trials=show_trials)
    if fmt == "csv":
        return md.to_csv(lb)
    if fmt == "latex":
        return latex.to_latex(lb)
    if fmt == "json":
        return export.to_json(lb)
    if fmt == "html":
        from dabench.report.html import to_html

        return to_html(lb, results)
    raise UserError(f"unknown format {fmt!r}; choose one of: {', '.join(REPORT_FORMATS)}")


def _check_out(out: Path | None) -> None:
    if out is None or str(out) == "-":
        return
    out = Path(out)
    if out.is_dir():
        raise UserError(f"cannot write {out}: it is a directory; give a file name or - for stdout")
    if not out.exists() and not out.parent.is_dir():
        raise UserError(f"cannot write {out}: directory {out.parent} does not exist")


def report(
    results: Path,
    metric: str = "acc",
    selection: str = "source_val",
    out: Path | str | None = None,
    fmt: str = "md",
    show_trials: bool = False,
    references: Path | None = None,
    per_class_pair: str | None = None,
    only: Callable[[list[RunRecord]], list[RunRecord]] | None = None,
    name: str | None = None,
):
    """Build the leaderboard from records; write md, wide csv and long csv into
    ``results``, and ``out`` in ``fmt`` unless ``out`` is ``-`` (standard
    output: the caller prints the returned text). ``only`` filters the records
    (a suite's report keeps its own runs, see
    :func:`dabench.sweep.runner.report_suite`) and ``name`` prefixes the
    leaderboard file names. ``references``: a folder of
    published numbers (default ``configs/references``); ``per_class_pair`` is
    checked against the report's pairs before anything is written.
    Returns ``(leaderboard, written_paths, text_in_fmt)``."""
    from dabench.records import atomic_write_text, load_records
    from dabench.report import build_leaderboard, to_csv, to_markdown
    from dabench.report.export import to_long_csv
    from dabench.report.references import compare, load_references
    from dabench.selection import SELECTORS

    results = ensure_results_dir(results, create=False)
    SELECTORS.get(selection)
    if fmt not in REPORT_FORMATS:
        raise UserError(f"unknown format {fmt!r}; choose one of: {', '.join(REPORT_FORMATS)}")
    _check_out(out)
    records = load_records(results)
    from dabench.data.user_pairs import register_recorded_pairs

    register_recorded_pairs(records)
    if only is not None:
        records = only(records)
    lb = build_leaderboard(records, metric=metric, selection=selection)
    lb.references = compare(lb, load_references(references))
    if per_class_pair is not None and per_class_pair not in lb.pairs:
        raise UserError(
            f"no results for pair {per_class_pair!r} in this report; pairs: {', '.join(lb.pairs)}"
        )
    suffix = metric if selection == "source_val" else f"{metric}_{selection}"
    if name is not None:
        suffix = f"{name}_{suffix}"
    texts = {
        f"leaderboard_{suffix}.md": to_markdown(lb, show_trials=show_trials),
        f"leaderboard_{suffix}.csv": to_csv(lb),
        f"leaderboard_{suffix}_long.csv": to_long_csv(lb),
    }
    text = render(lb, fmt, results, show_trials=show_trials)
    written = []
    for name, body in texts.items():
        atomic_write_text(results / name, body)
        written.append(results / name)
    if out is not None and str(out) != "-":
        atomic_write_text(Path(out), text)
        written.append(Path(out))
    return lb, written, text
