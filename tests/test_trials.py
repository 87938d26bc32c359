"""Hyperparameter selection over trials: one rule for trials and checkpoints,
collapse counted, the search resumable and the final stage reproducible."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from dabench.cli import main
from dabench.errors import UserError
from dabench.report import build_leaderboard, to_markdown
from dabench.report.trials import group_trials, select_trial
from dabench.sweep import load_suite
from tests.test_report import record

P = "mnist2digits"


def _search():
    """source_only: 2 trials; dann: 2 trials, its trial 1 better on source val
    (seed 0, the search seed) and rerun with seeds 1, 2 (the final stage)."""
    recs = [
        record("source_only", P, 0, 0.60, hparams={"lr": 0.01}, sv=0.95),
        record("source_only", P, 0, 0.70, hparams={"lr": 0.03}, sv=0.96, hparams_seed=1),
        record("dann", P, 0, 0.50, hparams={"w": 1.0}, sv=0.90),
        record("dann", P, 0, 0.80, hparams={"w": 0.3}, sv=0.97, hparams_seed=1),
        record("dann", P, 1, 0.76, hparams={"w": 0.3}, sv=0.80, hparams_seed=1),
        record("dann", P, 2, 0.78, hparams={"w": 0.3}, sv=0.80, hparams_seed=1),
    ]
    return recs


def test_the_rule_picks_each_methods_trial_and_reports_all_its_seeds():
    lb = build_leaderboard(_search())
    t = lb.table
    assert t.at["dann", f"{P}_trial"] == 1 and t.at["dann", f"{P}_trials"] == 2
    # Judged on seed 0, which every trial has: 0.97 > 0.90, although trial 1's
    # mean over all its seeds (0.857) is below trial 0's 0.90.
    assert t.at["dann", f"{P}_n"] == 3
    assert t.at["dann", f"{P}_mean"] == pytest.approx(100 * (0.80 + 0.76 + 0.78) / 3)
    assert t.at["source_only", f"{P}_trial"] == 1
    assert t.at["source_only", f"{P}_mean"] == pytest.approx(70.0)
    md = to_markdown(lb, show_trials=True)
    assert "w=0.3" in md and "All trials" in md


def test_oracle_selects_on_target_labels_and_says_so():
    recs = _search()
    # A trial that is worse on source val but better on target: only oracle takes it.
    recs.append(record("dann", P, 0, 0.95, hparams={"w": 2.0}, sv=0.85, hparams_seed=2))
    honest = build_leaderboard(recs)
    oracle = build_leaderboard(recs, selection="oracle")
    assert honest.table.at["dann", f"{P}_trial"] == 1
    assert oracle.table.at["dann", f"{P}_trial"] == 2
    assert oracle.uses_target_labels and "READS TARGET LABELS" in to_markdown(oracle)
    assert not honest.uses_target_labels


def test_a_collapsed_trial_ranks_below_healthy_ones_and_is_counted():
    recs = _search()
    recs.append(
        record("dann", P, 0, 0.99, hparams={"w": 3.0}, sv=0.99, hparams_seed=3, status="collapsed")
    )
    lb = build_leaderboard(recs)
    assert lb.table.at["dann", f"{P}_trial"] == 1, "the collapsed trial is not selected"
    assert any("1 collapsed among the 5 runs of its 3 trials" in n for n in lb.notes)


def test_when_every_trial_collapsed_the_cell_says_so():
    recs = (
        [record("source_only", P, s, 0.6, sv=0.9) for s in range(3)]
        + [record("dann", P, s, 0.3, sv=0.9, status="collapsed") for s in (0, 1)]
        + [record("dann", P, 2, 0.3, sv=0.9)]
    )
    lb = build_leaderboard(recs)
    assert lb.table.at["dann", f"{P}_collapsed"] == 2
    assert "⚠ 2/3 collapsed" in to_markdown(lb)
    assert any(
        "dann on mnist2digits: the selected trial has runs that 2/3 collapsed" in n
        for n in lb.notes
    )


def test_last_reports_the_default_trial():
    trials = next(ts for (m, _, _), ts in group_trials(_search()).items() if m == "dann")
    assert len(trials) == 2
    assert select_trial(trials, "last").hparams_seed == 0


def test_unequal_search_budgets_are_flagged():
    recs = _search() + [record("dann", P, 0, 0.4, hparams={"w": 9.0}, sv=0.5, hparams_seed=2)]
    notes = " ".join(build_leaderboard(recs).notes)
    assert "unequal search budgets on mnist2digits (trials: dann 3, source_only 2)" in notes


def test_suite_trials_and_final_stage_keys(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text(
        "methods: [dann]\npairs: [mnist2digits]\nseeds: [0]\nhparams_seeds: 3\n"
        "set_for:\n  dann@mnist2digits: {train: {steps: 7}}\nfinal: {seeds: [0, 1]}\n"
    )
    s = load_suite(f)
    assert s.hparams_seeds == [0, 1, 2] and s.final_seeds == [0, 1]
    for body, msg in (
        ("hparams_seeds: 0", "count >= 1"),
        ("hparams_seeds: [1, 1]", "twice"),
        ("set_for: {coral: {}}", "names no method"),
        ("final: {seeds: [0], selection: oracle}", "reads target labels"),
        ("final: {seed: [0]}", "'final' takes only"),
    ):
        f.write_text(f"methods: [dann]\npairs: [mnist2digits]\nseeds: [0]\n{body}\n")
        with pytest.raises(UserError, match=msg):
            load_suite(f)


def test_a_search_runs_resumes_and_reruns_the_selected_trial(tmp_path):
    suite = tmp_path / "search.yaml"
    suite.write_text(
        "name: tiny_search\nmethods: [source_only]\npairs: [digits2mnist]\n"
        "hparams_seeds: 2\nseeds: [0]\nfinal: {seeds: [0, 1]}\n"
        "set:\n  train: {steps: 6, eval_every: 3, batch_size: 8}\n"
    )
    results = tmp_path / "res"
    r = CliRunner().invoke(main, ["sweep", str(suite), "--results", str(results), "--dry-run"])
    assert r.exit_code == 0 and r.output.count("\tpending\t") == 2, r.output
    assert not results.exists(), "a dry run writes nothing"
    r = CliRunner().invoke(main, ["sweep", str(suite), "--results", str(results)])
    assert r.exit_code == 0, r.output
    runs = sorted((results / "runs").glob("*.json"))
    assert len(runs) == 3, "2 trials x seed 0, then the selected trial with seed 1"
    r = CliRunner().invoke(main, ["sweep", str(suite), "--results", str(results)])
    # 2 trials + the final stage's seeds 0 (the search's own run) and 1.
    assert r.exit_code == 0 and r.output.count("recorded earlier") == 4
    assert sorted((results / "runs").glob("*.json")) == runs, "resuming runs nothing twice"
    r = CliRunner().invoke(
        main, ["report", "--results", str(results), "--suite", str(suite), "--show-trials"]
    )
    assert r.exit_code == 0, r.output
    md = (results / "leaderboard_tiny_search_acc.md").read_text()
    assert "(2)" in md, "the selected trial is reported over both final seeds"


def test_records_from_before_the_few_shot_keys_share_a_setup_with_new_ones():
    from dabench.report.trials import setup_key

    old = record("dann", P, 0, 0.5)
    new = record("dann", P, 1, 0.5)
    new.config["data"] = {"split_seed": 0, "shots": 0, "ways": 0, "episode": 0, "root": None}
    old.config["data"] = {"split_seed": 0, "root": "/data"}
    assert setup_key(old) == setup_key(new)
    few = record("dann", P, 1, 0.5)
    few.config["data"] = {"split_seed": 0, "shots": 5, "ways": 0, "episode": 3}
    assert setup_key(few) != setup_key(new)


def test_a_trial_without_results_does_not_change_how_the_others_are_judged():
    # Trials 1 and 2 tie on the search seed; trial 1 was rerun with more seeds
    # (the final stage picked it), whose mean source-val score is lower. A
    # diverged trial 3 must not make the report compare means over all seeds.
    recs = [
        record("dann", P, 0, 0.55, hparams={"w": 0.1}, sv=0.98, hparams_seed=1),
        record("dann", P, 1, 0.51, hparams={"w": 0.1}, sv=0.97, hparams_seed=1),
        record("dann", P, 2, 0.53, hparams={"w": 0.1}, sv=0.97, hparams_seed=1),
        record("dann", P, 0, 0.60, hparams={"w": 0.2}, sv=0.98, hparams_seed=2),
        record("dann", P, 0, 0.10, hparams={"w": 3.0}, hparams_seed=3, status="diverged"),
    ]
    trials = next(iter(group_trials(recs).values()))
    assert select_trial(trials, "source_val").hparams_seed == 1
