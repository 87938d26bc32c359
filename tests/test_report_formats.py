"""Every report format from fixed records (golden files), --out, and reading records."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from report_fixtures import fixture_records, record, write_references

from dabench.api import render
from dabench.cli import main
from dabench.records import RunRecord, atomic_write_text, load_records, write_record
from dabench.report import build_leaderboard
from dabench.report.export import long_frame, to_long_csv
from dabench.report.perclass import per_class, per_class_markdown
from dabench.report.references import compare, load_references

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture
def lb(tmp_path):
    lb = build_leaderboard(fixture_records())
    lb.references = compare(lb, load_references(write_references(tmp_path / "refs")))
    return lb


@pytest.fixture
def results(tmp_path):
    d = tmp_path / "results"
    for r in fixture_records():
        write_record(d, r)
    write_references(tmp_path / "refs")
    return d


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("DABENCH_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text(), (
        f"{name} changed; rerun with DABENCH_UPDATE_GOLDEN=1 if intended"
    )


@pytest.mark.parametrize(
    "fmt,name",
    [("md", "report.md"), ("csv", "report.csv"), ("latex", "report.tex"), ("json", "report.json")],
)
def test_golden_text_formats(lb, tmp_path, fmt, name):
    _golden(name, render(lb, fmt, tmp_path))


def test_golden_long_csv_and_per_class(lb):
    _golden("report_long.csv", to_long_csv(lb))
    _golden("per_class.md", per_class_markdown(per_class(lb, "mnist2digits")))


def test_long_csv_has_one_row_per_method_pair_seed_rule_metric(lb):
    df = long_frame(lb)
    key = ["method", "pair", "seed", "rule", "metric"]
    assert not df.duplicated(key).any()
    # 3 methods x 2 pairs x 3 seeds + the variant's 2 seeds, x 2 rules x 3 metrics
    assert len(df) == (3 * 2 * 3 + 2) * 2 * 3
    row = df[(df.method == "coral") & (df.pair == "mnist2digits") & (df.seed == 2)]
    assert row.set_index(["rule", "metric"]).at[("oracle", "target_test_acc"), "value"] == 91.0
    assert row[row.rule == "oracle"].uses_target_labels.all()


def test_latex_bolds_the_best_mean_per_column(lb):
    tex = render(lb, "latex", Path("."))
    assert r"\toprule" in tex and r"\midrule" in tex and r"\bottomrule" in tex
    coral = next(line for line in tex.splitlines() if line.startswith("coral &"))
    assert coral.count(r"\textbf") == 4, "best on both pairs, on average, and significant p"
    assert r"{\scriptsize $\pm$ 12.42}" in coral
    assert r"coral[weight=5]" in tex and r"source\_only" in tex


def test_references_match_on_method_pair_and_backbone(lb):
    refs = lb.references.set_index("paper")
    assert set(refs.index) == {"Paper A", "Paper B"}, "Paper C is on another backbone"
    assert refs.at["Paper A", "ours − published"] == pytest.approx(85.0 - 80.0)
    ours_b = (68.0 + 49.0) / 2
    assert refs.at["Paper B", "ours"] == pytest.approx(ours_b)


def test_per_class_means_over_seeds_and_sums_confusion(lb):
    items = {pc.method: pc for pc in per_class(lb, "mnist2digits")}
    pc = items["coral"]
    assert pc.seeds == 3 and pc.classes == ["zero", "one", "two"]
    # seeds 0 and 2 give recall 0.8 for 'zero', seed 1 gives 0.9
    assert pc.table.loc[0, "recall"] == pytest.approx(100 * (0.8 + 0.9 + 0.8) / 3)
    assert pc.confusion[0].tolist() == [8 + 9 + 8, 1 + 1 + 1, 1 + 0 + 1]


def _cli(*args):
    return CliRunner().invoke(main, ["report", *args])


def test_out_dash_writes_the_format_to_stdout_only(results, tmp_path):
    refs = str(tmp_path / "refs")
    r = _cli("--results", str(results), "--references", refs, "--out", "-")
    assert r.exit_code == 0, r.output
    assert r.output == (results / "leaderboard_acc.md").read_text()
    assert not Path("-").exists()
    r = _cli("--results", str(results), "--format", "json", "--out", "-")
    assert json.loads(r.output)["paired_tests"]["coral"]["verdict"] == "beats"
    r = _cli("--results", str(results), "--json", "--per-class", "digits2mnist")
    data = json.loads(r.output)
    assert data["per_class"][0]["classes"] == ["zero", "one", "two"] and data["written"]


def test_out_never_replaces_a_non_regular_file(results, tmp_path):
    link = tmp_path / "null"
    link.symlink_to(os.devnull)
    r = _cli("--results", str(results), "--format", "csv", "--out", str(link))
    assert r.exit_code == 0, r.output
    assert link.is_symlink() and stat.S_ISCHR(os.stat(os.devnull).st_mode)
    before = sorted(p.name for p in results.iterdir())
    r = _cli("--results", str(results), "--out", str(tmp_path))
    assert r.exit_code == 2 and "is a directory" in r.output
    assert sorted(p.name for p in results.iterdir()) == before, "nothing written on a user error"
    r = _cli("--results", str(results), "--per-class", "nope2nope")
    assert r.exit_code == 2 and "no results for pair 'nope2nope'" in r.output
    assert sorted(p.name for p in results.iterdir()) == before


def test_written_files_follow_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o640


def test_bad_records_are_one_warning_each_and_left_out(results, caplog):
    runs = results / "runs"
    (runs / "corrupt.json").write_text("{not json")
    newer = json.loads(next(runs.glob("dann__*.json")).read_text())
    newer.update(schema=99, run_id="future")
    (runs / "future.json").write_text(json.dumps(newer))
    first = sorted(runs.glob("source_only__*.json"))[0]
    (runs / "zz_copy.json").write_text(first.read_text())  # same run_id
    same = json.loads(first.read_text())
    same["run_id"] = "renamed"
    (runs / "zz_renamed.json").write_text(json.dumps(same))  # same config and seed
    with caplog.at_level(logging.WARNING, logger="dabench.records"):
        recs = load_records(results)
    assert len(recs) == len(fixture_records())
    msgs = [r.getMessage() for r in caplog.records]
    assert len(msgs) == 4 and all("\n" not in m for m in msgs)
    assert any("corrupt.json" in m for m in msgs) and any("schema 99" in m for m in msgs)
    assert any("duplicate of run" in m for m in msgs) and any(
        "same config and seed" in m for m in msgs
    )
    assert _cli("--results", str(results)).exit_code == 0


def test_collapsed_and_diverged_runs_are_counted():
    recs = fixture_records() + [
        record("dann", "digits2mnist", 3, 0.1, status="collapsed"),
        record("dann", "digits2mnist", 4, 0.1, status="diverged"),
    ]
    recs[-1].by_selection = {}
    lb = build_leaderboard(recs)
    notes = " ".join(lb.notes)
    assert "1 failed or diverged run(s) not included" in notes
    assert "1/5 collapsed" in notes and lb.table.at["dann", "digits2mnist_collapsed"] == 1


def test_list_and_data_status_print_in_full_and_as_json(tmp_path):
    r = CliRunner().invoke(main, ["list", "pairs"])
    office = [ln for ln in r.output.splitlines() if "office31_" in ln]
    assert len(office) == 6 and not any("…" in ln for ln in office)
    r = CliRunner().invoke(main, ["list", "pairs", "--json"])
    names = [p["name"] for p in json.loads(r.output)]
    assert "office31_w2a" in names and "mnist2digits" in names
    r = CliRunner().invoke(main, ["data", "status", "--json", "--data-root", str(tmp_path)])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert {"pair", "source", "target"} <= set(rows[0]) and "available" in rows[0]["source"]


def test_trainer_records_per_class_metrics_and_costs(tiny_splits):
    import torch

    from dabench.config import build_config
    from dabench.methods.source_only import SourceOnly
    from dabench.models import build_backbone
    from dabench.records import RunRecord, build_record
    from dabench.train import train

    over = {"train.steps": 6, "train.eval_every": 3, "train.batch_size": 8}
    cfg = build_config("source_only", "mnist2digits", overrides=over)
    torch.manual_seed(0)
    method = SourceOnly(build_backbone("dann_digits", (1, 28, 28)), 10, {}, 6)
    result = train(method, tiny_splits, cfg, torch.device("cpu"))
    kw = dict(run_id="x", config_hash="h", method_cls=SourceOnly, pair_version=1)
    rec = build_record(cfg, **kw, trainer_version=2, splits={}, provenance={}, result=result)
    rec = RunRecord.from_dict(json.loads(json.dumps(rec.to_dict())))
    sel = rec.by_selection["source_val"]
    conf = np.array(sel.per_class["confusion"])
    assert conf.shape == (10, 10) and conf.sum() == len(tiny_splits.target_test)
    assert np.trace(conf) / conf.sum() == pytest.approx(sel.target_test_acc, abs=1e-6)
    rows = conf.sum(axis=1)
    recall = np.divide(np.diag(conf), rows, out=np.zeros(10), where=rows > 0)
    assert sel.per_class["recall"] == pytest.approx(recall.tolist(), abs=1e-5)
    assert sel.per_class["support"] == rows.tolist()
    n_params = sum(p.numel() for p in method.parameters())
    assert rec.costs["params_total"] == rec.costs["params_trainable"] == n_params
    assert rec.costs["train_images"] == 6 * 8 and rec.costs["images_per_second"] > 0
    assert rec.costs["peak_memory_mb"] > 0 and rec.timing["steps"] == 6


def test_records_without_per_class_or_costs_still_report():
    recs = [
        record(m, p, s, a, costs=False)
        for m, p, s, a in [
            ("source_only", "mnist2digits", 0, 0.6),
            ("source_only", "mnist2digits", 1, 0.62),
            ("dann", "mnist2digits", 0, 0.7),
            ("dann", "mnist2digits", 1, 0.72),
        ]
    ]
    for r in recs:
        d = r.to_dict()
        for sel in d["by_selection"].values():
            del sel["per_class"]
        del d["costs"]
        r.__dict__.update(RunRecord.from_dict(d).__dict__)
    lb = build_leaderboard(recs)
    assert np.isnan(lb.table.at["dann", "params_total"])
    assert "params" in render(lb, "md", Path("."))
    (pc,) = [x for x in per_class(lb, "mnist2digits") if x.method == "dann"]
    assert pc.seeds == 0 and pc.missing == 2
    assert "predate" in per_class_markdown([pc])
