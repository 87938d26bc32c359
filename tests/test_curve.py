"""`dabench curve` end to end on a tiny setting: records, table, PNG, references."""

from __future__ import annotations

import json

from click.testing import CliRunner

from dabench.cli import main
from dabench.curve import references, summarise
from dabench.records import RunRecord, load_records


def _reference_record(results, method: str, access: str, acc: float, seed: int = 0) -> None:
    """A finished run of a method without target labels, as `dabench run` writes it."""
    run_id = f"{method}__mnist2digits__s{seed}__ref"
    rec = {
        "schema": 1,
        "run_id": run_id,
        "method": method,
        "pair": "mnist2digits",
        "seed": seed,
        "backbone": "dann_digits",
        "status": "ok",
        "config_hash": "ref",
        "target_access": access,
        "config": {"data": {"split_seed": 0}},
        "metrics": {"target_test_acc": acc},
        "by_selection": {"source_val": {"target_test_acc": acc}},
    }
    (results / "runs").mkdir(exist_ok=True)
    (results / "runs" / f"{run_id}.json").write_text(json.dumps(rec))


def test_curve_writes_records_table_and_png(results_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("DABENCH_FEATURE_CACHE", str(tmp_path / "features"))
    _reference_record(results_dir, "source_only", "none", 0.70)
    _reference_record(results_dir, "dann", "unlabeled", 0.60)
    _reference_record(results_dir, "coral", "unlabeled", 0.80)
    _reference_record(results_dir, "coral", "unlabeled", 0.90, seed=1)
    args = ["curve", "-m", "fewshot_proto,fewshot_linear", "-p", "mnist2digits", "--shots",
            "1,3", "--episodes", "2", "--results", str(results_dir)]  # fmt: skip
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    recs = [x for x in load_records(results_dir) if x.method.startswith("fewshot")]
    assert len(recs) == 2 * 2 * 2
    assert {(x.config["data"]["shots"], x.config["data"]["episode"]) for x in recs} == {
        (1, 0), (1, 1), (3, 0), (3, 1)
    }  # fmt: skip
    assert all(x.splits["target_support"] == 10 * x.config["data"]["shots"] for x in recs)
    png = results_dir / "curve_mnist2digits_fewshot_proto+fewshot_linear.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = png.with_suffix(".md").read_text()
    assert "k=1" in md and "k=3" in md and "fewshot_linear" in md
    assert "source_only (dann_digits) = 70.00" in r.output
    assert "best unsupervised: coral (dann_digits) = 85.00" in r.output
    # A second call reuses every record: same table, no new runs.
    r2 = CliRunner().invoke(main, args)
    assert r2.exit_code == 0 and len(load_records(results_dir)) == len(recs) + 4
    assert png.with_suffix(".md").read_text() == md


def test_summary_mean_and_ci_by_hand():
    recs = [
        RunRecord.from_dict(
            {"run_id": f"r{i}", "seed": 0, "pair": "p", "config_hash": "h", "status": "ok",
             "method": "m", "config": {"data": {"shots": 5}},
             "by_selection": {"source_val": {"step": 0, "target_test_acc": a}}}
        )
        for i, a in enumerate((0.5, 0.6, 0.7))
    ]  # fmt: skip
    row = summarise(recs).iloc[0]
    assert row["episodes"] == 3 and abs(row["mean"] - 60.0) < 1e-9
    # t_{0.975, 2} = 4.302653, sd = 10: half-width 4.302653 * 10 / sqrt(3)
    assert abs(row["ci95"] - 4.302653 * 10 / 3**0.5) < 1e-4
    assert references(recs, "p") == []


def test_curve_rejects_methods_that_are_not_few_shot(results_dir):
    r = CliRunner().invoke(
        main, ["curve", "-m", "source_only", "-p", "mnist2digits", "--results", str(results_dir)]
    )
    assert r.exit_code == 2 and "not a few-shot method" in r.output


def test_leaderboard_rows_name_their_k_and_pool_episodes():
    from dabench.report import build_leaderboard

    def rec(method, acc, shots=0, episode=0, ways=0, seed=0):
        data = {"split_seed": 0, "shots": shots, "ways": ways, "episode": episode}
        return RunRecord.from_dict({
            "run_id": f"{method}{shots}{episode}{seed}", "method": method, "pair": "p",
            "seed": seed, "status": "ok", "config_hash": "h", "config": {"data": data},
            "by_selection": {"source_val": {"step": 0, "target_test_acc": acc}},
        })  # fmt: skip

    old = rec("source_only", 0.6, seed=2)  # written before the few-shot keys existed
    old.config["data"] = {"split_seed": 0}
    records = [rec("source_only", 0.5), rec("source_only", 0.7, seed=1), old]
    records += [rec("fewshot_proto", a, 5, e) for e, a in enumerate((0.6, 0.8, 0.7))]
    records += [rec("fewshot_proto", 0.9, 10), rec("fewshot_proto", 0.95, 10, ways=5)]
    t = build_leaderboard(records).table
    assert t.loc["fewshot_proto (5-shot)", "p_n"] == 3
    assert abs(t.loc["fewshot_proto (5-shot)", "p_mean"] - 70.0) < 1e-9
    assert t.loc["fewshot_proto (10-shot)", "p_mean"] == 90.0
    assert t.loc["fewshot_proto (10-shot 5-way)", "p_mean"] == 95.0
    assert t.loc["source_only", "p_n"] == 3, "old and new records of one config pool"


def test_reference_lines_use_each_methods_selected_trial():
    def rec(method, acc, sv, hs, seed=0, access="unlabeled"):
        return RunRecord.from_dict({
            "run_id": f"{method}{hs}{seed}", "method": method, "pair": "p", "seed": seed,
            "status": "ok", "config_hash": "h", "hparams_seed": hs, "backbone": "cnn",
            "target_access": access,
            "config": {"data": {"split_seed": 0}, "train": {"lr": 0.01 * (hs + 1)}},
            "by_selection": {"source_val": {"step": 1, "score": sv, "target_test_acc": acc}},
        })  # fmt: skip

    records = [
        rec("source_only", 0.50, 0.90, 0, access="none"),
        rec("source_only", 0.70, 0.95, 1, access="none"),  # the selected trial
        rec("source_only", 0.74, 0.95, 1, seed=1, access="none"),
        rec("coral", 0.99, 0.80, 0),  # best target accuracy, worst source-val score
        rec("coral", 0.60, 0.96, 1),
    ]
    refs = {r.label: (round(r.acc, 6), r.n) for r in references(records, "p")}
    assert refs == {"source_only (cnn)": (72.0, 2), "best unsupervised: coral (cnn)": (60.0, 1)}
