"""Fixed records for the report tests: every field a report reads, nothing random."""

from __future__ import annotations

from pathlib import Path

from dabench.records import RunRecord

ACC = {
    # method: {pair: [acc per seed]}
    "source_only": {"mnist2digits": [0.60, 0.62, 0.64], "digits2mnist": [0.50, 0.52, 0.51]},
    "coral": {"mnist2digits": [0.80, 0.85, 0.90], "digits2mnist": [0.58, 0.60, 0.59]},
    "dann": {"mnist2digits": [0.66, 0.70, 0.68], "digits2mnist": [0.49, 0.50, 0.48]},
}
CLASSES = ["zero", "one", "two"]


def per_class(seed: int) -> dict:
    conf = (
        [[8, 1, 1], [2, 7, 1], [0, 0, 10]] if seed % 2 == 0 else [[9, 1, 0], [1, 8, 1], [1, 1, 8]]
    )
    return {
        "classes": CLASSES,
        "precision": [0.8, 0.875, 0.8333] if seed % 2 == 0 else [0.8182, 0.8, 0.8889],
        "recall": [0.8, 0.7, 1.0] if seed % 2 == 0 else [0.9, 0.8, 0.8],
        "f1": [0.8, 0.7778, 0.9091] if seed % 2 == 0 else [0.8571, 0.8, 0.8421],
        "support": [10, 10, 10],
        "confusion": conf,
    }


def selections(acc: float, sv: float = 0.9, **extra) -> dict:
    """``by_selection`` of a fixture record: source_val and an oracle one point higher."""
    sel = {
        "step": 100,
        "score": sv,
        "target_test_acc": acc,
        "target_test_f1": acc - 0.05,
        "source_val_acc": sv,
        "uses_target_labels": False,
        **extra,
    }
    oracle = dict(sel, target_test_acc=acc + 0.01, score=acc, uses_target_labels=True)
    return {"source_val": sel, "oracle": oracle}


def record(
    method: str,
    pair: str,
    seed: int,
    acc: float,
    *,
    status: str = "ok",
    hparams: dict | None = None,
    hparams_seed: int = 0,
    steps: int = 1000,
    backbone: str = "dann_digits",
    costs: bool = True,
) -> RunRecord:
    hp = {"weight": 1.0} if hparams is None and method == "coral" else (hparams or {})
    params = {"source_only": 100_000, "coral": 100_000, "dann": 150_000}.get(method, 100_000)
    return RunRecord.from_dict(
        {
            "run_id": f"{method}__{pair}__s{seed}__{hparams_seed}{'w5' if hparams else ''}",
            "method": method,
            "pair": pair,
            "seed": seed,
            "status": status,
            "config_hash": "h",
            "backbone": backbone,
            "schema": 2,
            "hparams_seed": hparams_seed,
            "config": {
                "method": method,
                "pair": pair,
                "seed": seed,
                "hparams_seed": hparams_seed,
                "backbone": backbone,
                "train": {"steps": steps, "lr": 0.01},
                "hparams": hp,
            },
            "by_selection": selections(acc, per_class=per_class(seed)),
            "timing": {
                "steps": steps,
                "train_seconds": 10.0 + seed + (5 if method == "dann" else 0),
            },
            "costs": {
                "params_total": params,
                "params_trainable": params,
                "peak_memory_mb": 512.0,
                "images_per_second": 1000.0 / (2 if method == "dann" else 1),
            }
            if costs
            else {},
            "created": "2026-01-01T00:00:00+00:00",
        }
    )


def fixture_records() -> list[RunRecord]:
    recs = [
        record(m, p, s, a)
        for m, pairs in ACC.items()
        for p, accs in pairs.items()
        for s, a in enumerate(accs)
    ]
    # A hand-set variant of CORAL (not a search): its own row.
    recs += [
        record("coral", "mnist2digits", s, a, hparams={"weight": 5.0})
        for s, a in enumerate([0.70, 0.72])
    ]
    return recs


def write_references(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "refs.yaml").write_text(
        "references:\n"
        "  - {paper: Paper A, method: coral, pair: 'MNIST→Digits', dabench_pair: mnist2digits,\n"
        "     backbone: dann_digits, selection: oracle, value: 80.0, caveat: smaller data here}\n"
        "  - {paper: Paper B, method: dann, pair: average, dabench_pairs: [mnist2digits, digits2mnist],\n"
        "     backbone: dann_digits, selection: not stated, value: 60.0}\n"
        "  - {paper: Paper C, method: dann, pair: 'MNIST→Digits', dabench_pair: mnist2digits,\n"
        "     backbone: lenet, selection: not stated, value: 99.0}\n"
    )
    return folder
