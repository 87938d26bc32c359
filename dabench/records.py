"""The run record: one JSON file per finished (or failed) run, and its type.

:class:`RunRecord` is the one definition of a record. It is built in one place
(:func:`build_record`), written atomically, and read back tolerantly by
:func:`load_records`: schema-1 records are migrated, records of a newer schema
and files that are not records are reported in one warning line each and left
out. The report and the CLI read its fields, never string keys.

Fields (schema version 2):

* ``schema``: record schema version.
* ``run_id``: ``<method>__<pair>__s<seed>__<config_hash>``.
* ``method``, ``method_version``, ``pair``, ``pair_version``,
  ``trainer_version``: what ran, and the versions of the code that ran it (all
  part of the run key).
* ``seed``; ``hparams_seed``: the trial (0 = defaults) whose draw gave the
  hyperparameters in ``config``.
* ``backbone``, ``target_access`` (none / unlabeled / few_shot / labeled);
  ``reads_target_labels``: training read target-train labels (few-shot
  support, or all of them for the ``labeled`` upper bound); reports never rank
  ``labeled`` runs against the others.
* ``config``: the fully resolved :class:`~dabench.config.RunConfig`;
  ``config_hash``: hash of everything in it that changes the result.
* ``status``: ``ok``, ``collapsed`` (see :mod:`dabench.monitor`; ``collapse``
  holds ``{"step", "reason"}``), ``diverged`` or ``failed``; ``error`` holds
  the message of the last two (for ``failed``: ``<ExceptionType>: <message>``,
  and ``out of memory (...)`` for CUDA or host out-of-memory), and
  ``traceback`` the last lines of a failed run's traceback (None otherwise).
  ``ok``, ``collapsed`` and ``diverged`` are results: a rerun of the same key
  reuses them. A ``failed`` record is not a result: a rerun retries the key.
  An interrupted run (Ctrl-C, SIGTERM) writes no record at all.
* ``selection``: the headline rule (``config.train.selection``).
* ``by_selection``: for every selection rule, a :class:`Selected`: the chosen
  ``step``, the rule's ``score`` there (higher is better; what hyperparameter
  selection compares), ``target_test_acc``, ``target_test_f1`` (macro),
  ``source_val_acc`` and ``uses_target_labels``; optionally ``per_class``:
  ``classes``, per-class ``precision``, ``recall``, ``f1``, ``support`` and the
  ``confusion`` matrix (rows true, columns predicted) of that checkpoint on
  target test (absent in records made before it was kept). ``metrics`` is the
  headline rule's entry, written out for readers of the JSON; same shape.
* ``final_losses``: the loss parts at the last step.
* ``extra``: metrics a head reports beyond accuracy and F1 (zero-shot text:
  seen and unseen accuracy and their harmonic mean), on target test; under
  ``data.bad_images=skip``, ``data_skipped_images_{source,target}``, the
  undecodable image files each side left out.
* ``timing``: ``train_seconds``, ``eval_seconds``, ``total_seconds``, ``steps``.
* ``costs`` (optional; empty in older records): ``params_total``,
  ``params_trainable``, ``peak_memory_mb`` (``peak_memory_kind``:
  ``cuda_allocated``, or ``process_rss``, the process's peak so far),
  ``train_images`` and ``images_per_second`` over the training time.
* ``splits``: sizes of every split.
* ``provenance``: dabench version, git sha and dirty flag, torch,
  pytorch-adapt, CUDA, device and its name, CPU model, thread count, Python,
  platform, command line.
* ``created``: UTC timestamp.

Per-step curves are written apart, as ``curves/<run_id>.csv``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dabench.names import child

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
RUNS_DIR = "runs"
CURVES_DIR = "curves"
STATUSES = ("ok", "collapsed", "diverged", "failed")
REQUIRED = ("run_id", "method", "pair", "seed", "status", "config_hash")


@dataclass
class Selected:
    """What one selection rule chose in one run."""

    step: int = 0
    score: float | None = None
    target_test_acc: float | None = None
    target_test_f1: float | None = None
    source_val_acc: float | None = None
    uses_target_labels: bool = False
    per_class: dict[str, Any] | None = None


@dataclass
class RunRecord:
    run_id: str
    method: str
    pair: str
    seed: int
    status: str
    config_hash: str
    schema: int = SCHEMA_VERSION
    method_version: int = 1
    pair_version: int = 1
    trainer_version: int = 1
    hparams_seed: int = 0
    backbone: str = ""
    target_access: str = ""
    reads_target_labels: bool = False
    config: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    traceback: str | None = None
    collapse: dict[str, Any] | None = None
    selection: str = "source_val"
    by_selection: dict[str, Selected] = field(default_factory=dict)
    final_losses: dict[str, float | None] = field(default_factory=dict)
    # Metrics a head reports beyond accuracy and F1 (zero-shot's seen/unseen
    # accuracies and their harmonic mean), on target test.
    extra: dict[str, Any] = field(default_factory=dict)
    timing: dict[str, Any] = field(default_factory=dict)
    costs: dict[str, Any] = field(default_factory=dict)
    splits: dict[str, int] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    created: str = ""

    @property
    def metrics(self) -> Selected | None:
        """The headline: what the configured rule chose (None if the run has none)."""
        return self.by_selection.get(self.selection)

    @property
    def has_metrics(self) -> bool:
        return bool(self.by_selection)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        head = self.metrics
        # Written for people reading the JSON; derived, so ignored on load.
        d["metrics"] = None if head is None else dataclasses.asdict(head)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunRecord:
        """A record from its JSON form, migrating older schemas."""
        d = dict(d)
        schema = int(d.get("schema", 1))
        if schema > SCHEMA_VERSION:
            raise ValueError(
                f"schema {schema} is newer than this dabench reads ({SCHEMA_VERSION}); upgrade dabench"
            )
        if schema < 2:
            d = _migrate_v1(d)
        d.pop("metrics", None)
        names = {f.name for f in dataclasses.fields(cls)}
        extra = sorted(set(d) - names)
        if extra:
            log.debug("record %s: ignoring unknown fields %s", d.get("run_id"), extra)
        kwargs = {k: v for k, v in d.items() if k in names}
        kwargs.setdefault(
            "reads_target_labels", d.get("target_access") in (LABELED_ACCESS, "few_shot")
        )
        kwargs["by_selection"] = {
            rule: Selected(**{k: v for k, v in sel.items() if k in _SELECTED_FIELDS})
            for rule, sel in (d.get("by_selection") or {}).items()
        }
        kwargs["schema"] = SCHEMA_VERSION
        return cls(**kwargs)


# Runs trained on target labels: an upper bound, reported apart, never ranked.
LABELED_ACCESS = "labeled"

_SELECTED_FIELDS = {f.name for f in dataclasses.fields(Selected)}


def _migrate_v1(d: dict[str, Any]) -> dict[str, Any]:
    """Schema 1 had no scores, no versions beyond the pair's, and its headline
    in ``metrics`` + ``selection: {rule, step, ...}``."""
    sel = d.get("selection")
    d["selection"] = sel.get("rule", "source_val") if isinstance(sel, dict) else "source_val"
    by = {}
    for rule, s in (d.get("by_selection") or {}).items():
        s = dict(s)
        # v1 kept no scores; source_val's score is its source-val accuracy.
        s.setdefault("score", s.get("source_val_acc") if rule == "source_val" else None)
        by[rule] = s
    d["by_selection"] = by
    d.setdefault("hparams_seed", (d.get("config") or {}).get("hparams_seed", 0))
    return d


def _finite(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) or math.isinf(x) else round(x, 6)


def build_record(
    cfg: Any,
    *,
    run_id: str,
    config_hash: str,
    method_cls: Any,
    pair_version: int,
    trainer_version: int,
    splits: dict[str, int],
    provenance: dict[str, Any],
    result: Any = None,
    status: str | None = None,
    error: str | None = None,
    traceback: str | None = None,
    total_seconds: float | None = None,
    extra: dict[str, Any] | None = None,
) -> RunRecord:
    """The one place a record is made: from the resolved config, the training
    result (a :class:`~dabench.train.TrainResult`, or None for a run that did
    not finish) and the provenance."""
    from dabench.selection import SELECTORS

    rec = RunRecord(
        run_id=run_id,
        method=cfg.method,
        pair=cfg.pair,
        seed=cfg.seed,
        status=status or "ok",
        config_hash=config_hash,
        method_version=method_cls.version,
        pair_version=pair_version,
        trainer_version=trainer_version,
        hparams_seed=cfg.hparams_seed,
        backbone=cfg.backbone,
        target_access=method_cls.target_access.value,
        reads_target_labels=method_cls.target_access.reads_target_labels,
        config=cfg.to_dict(),
        error=error,
        traceback=traceback,
        selection=cfg.train.selection,
        splits=splits,
        provenance=provenance,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    if result is None:
        rec.timing = {"total_seconds": None if total_seconds is None else round(total_seconds, 3)}
        return rec
    if result.collapse is not None and status is None:
        rec.status = "collapsed"
        rec.collapse = {"step": result.collapse.step, "reason": result.collapse.reason}
    rec.by_selection = {
        name: Selected(
            step=r.step,
            score=_finite(r.score),
            target_test_acc=_finite(r.target_test_acc),
            target_test_f1=_finite(r.target_test_f1),
            source_val_acc=_finite(r.source_val_acc),
            uses_target_labels=SELECTORS.get(name).uses_target_labels,
            per_class=getattr(r, "per_class", None),
        )
        for name, r in sorted(result.selections.items())
    }
    rec.costs = dict(getattr(result, "costs", None) or {})
    rec.final_losses = {k: _finite(v) for k, v in result.final_parts.items()}
    rec.extra = {
        k: _finite(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
        for k, v in (extra or {}).items()
    }
    rec.timing = {
        "steps": result.steps_run,
        "train_seconds": round(result.train_seconds, 3),
        "eval_seconds": round(result.eval_seconds, 3),
        "total_seconds": None if total_seconds is None else round(total_seconds, 3),
    }
    return rec


# ------------------------------------------------------------------ files


def _umask() -> int:
    # os.umask can only be read by setting it; set it straight back.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` atomically; see :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode())


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same directory, then rename; the file
    gets the mode an ordinary ``open`` would (0666 less the umask), not
    mkstemp's 0600. A path that exists and is not a regular file (a FIFO,
    ``/dev/stdout``, a terminal) or a symlink is written in place, through
    the link, never renamed over."""
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_file()):
        with open(path, "wb") as f:
            f.write(data)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def record_path(results: Path, run_id: str) -> Path:
    return child(Path(results) / RUNS_DIR, run_id, "run key", ".json")


def write_record(results: Path, record: RunRecord) -> Path:
    path = record_path(results, record.run_id)
    atomic_write_text(path, json.dumps(record.to_dict(), indent=2, default=str) + "\n")
    return path


def read_record(path: Path) -> RunRecord | None:
    """A record, or None (with one warning line) if the file is not a record
    this dabench can read."""
    try:
        raw = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        log.warning("skipping unreadable record %s: %s", path, e)
        return None
    if not isinstance(raw, dict) or any(k not in raw for k in REQUIRED):
        log.warning("skipping %s: not a dabench run record", path)
        return None
    try:
        return RunRecord.from_dict(raw)
    except (TypeError, ValueError, AttributeError) as e:
        log.warning("skipping record %s: %s", path, e)
        return None


def _run_key(rec: RunRecord) -> str:
    """What makes two records the same run: config, seed and code versions."""
    cfg = {k: v for k, v in rec.config.items() if k != "data"}
    data = {
        k: v for k, v in (rec.config.get("data") or {}).items() if k not in ("root", "download")
    }
    versions = (rec.method_version, rec.pair_version, rec.trainer_version)
    return json.dumps(
        [rec.method, rec.pair, rec.seed, versions, cfg, data], sort_keys=True, default=str
    )


def load_records(results: Path) -> list[RunRecord]:
    """Every readable record under ``results/runs``, migrated to the current
    schema. Files that are not records, records of a newer schema and
    duplicates (a second file with the same ``run_id``, or the same config,
    seed and code versions under another name) are skipped with one warning
    line each; of duplicates the first file in name order is kept."""
    runs = results / RUNS_DIR
    if not runs.is_dir():
        return []
    out = []
    seen_ids: dict[str, Path] = {}
    seen_keys: dict[str, Path] = {}
    for p in sorted(runs.glob("*.json")):
        rec = read_record(p)
        if rec is None:
            continue
        key = _run_key(rec) if rec.config else None
        if rec.run_id in seen_ids:
            log.warning(
                "skipping %s: duplicate of run %s in %s", p, rec.run_id, seen_ids[rec.run_id]
            )
            continue
        if key is not None and key in seen_keys:
            log.warning("skipping %s: same config and seed as %s", p, seen_keys[key])
            continue
        seen_ids[rec.run_id] = p
        if key is not None:
            seen_keys[key] = p
        out.append(rec)
    return out


def write_curve(results: Path, run_id: str, rows: list[dict[str, Any]]) -> Path:
    import pandas as pd

    path = child(Path(results) / CURVES_DIR, run_id, "run key", ".csv")
    atomic_write_text(path, pd.DataFrame(rows).to_csv(index=False))
    return path
