"""Report statistics against values computed by hand."""

from __future__ import annotations

import math

import pytest
from report_fixtures import fixture_records, record

from dabench.report import build_leaderboard
from dabench.report.stats import ci95, nemenyi_cd, paired_test, rank_summary


def test_ci95_is_the_student_t_half_width():
    # t(0.975, 2) = 4.302653; s = 5 for (80, 85, 90): 4.302653 * 5 / sqrt(3)
    assert ci95([80.0, 85.0, 90.0]) == pytest.approx(12.42069, abs=1e-4)
    # t(0.975, 1) = 12.706205; s = sqrt(2) for (1, 3): 12.706205 * sqrt(2) / sqrt(2)
    assert ci95([1.0, 3.0]) == pytest.approx(12.706205, abs=1e-5)
    assert math.isnan(ci95([1.0]))


def _paired(diffs):
    ours = {("p", i): 50.0 + d for i, d in enumerate(diffs)}
    base = {("p", i): 50.0 for i in range(len(diffs))}
    return paired_test(ours, base)


def test_wilcoxon_exact_p_values():
    # Six positive differences without ties: W- = 0; exact two-sided p = 2 * 1/64.
    t = _paired([1, 2, 3, 4, 5, 6])
    assert t.p_value == pytest.approx(2 / 64) and t.verdict == "beats" and t.n == 6
    # One negative of rank 2: W- = 2; subsets of {1..6} with sum <= 2: {}, {1}, {2}; p = 2 * 3/64.
    t = _paired([1, -2, 3, 4, 5, 6])
    assert t.p_value == pytest.approx(6 / 64) and t.verdict == "n.s."
    t = _paired([-1, -2, -3, -4, -5, -6])
    assert t.p_value == pytest.approx(2 / 64) and t.verdict == "worse"
    assert _paired([0, 0, 0]).verdict == "no difference"
    assert paired_test({("p", 0): 1.0}, {("q", 0): 1.0}).n == 0, "only matched (pair, seed) count"


def test_nemenyi_critical_difference_matches_demsar_table():
    # Demšar (2006) Table 5a: q_0.05 = 2.569 for k = 4, 2.343 for k = 3.
    assert nemenyi_cd(4, 2) == pytest.approx(2.569 * math.sqrt(4 * 5 / 12), abs=1e-3)
    assert nemenyi_cd(3, 10) == pytest.approx(2.343 * math.sqrt(3 * 4 / 60), abs=1e-3)


def test_average_ranks_with_ties_and_groups():
    means = {
        "a": {"p1": 90.0, "p2": 80.0, "p3": 70.0},
        "b": {"p1": 80.0, "p2": 80.0, "p3": 60.0},
        "c": {"p1": 70.0, "p2": 60.0, "p3": 50.0},
        "partial": {"p1": 99.0, "p2": math.nan, "p3": math.nan},
    }
    r = rank_summary(means)
    # p1: a1 b2 c3; p2: a,b tie 1.5, c3; p3: a1 b2 c3
    assert r.avg_rank == pytest.approx({"a": 3.5 / 3, "b": 5.5 / 3, "c": 3.0})
    assert r.pairs == ["p1", "p2", "p3"], "a method missing pairs is left out, not the pairs"
    assert r.cd == pytest.approx(2.343 * math.sqrt(3 * 4 / 18), abs=1e-3)
    assert r.groups[0] == ["a", "b", "c"], "all within CD = 1.91 of a"


def test_leaderboard_statistics_from_fixture_records():
    lb = build_leaderboard(fixture_records())
    t = lb.table
    # coral - source_only over (pair, seed): 20, 23, 26 and 8, 8, 8: all positive.
    assert lb.tests["coral"].verdict == "beats" and lb.tests["coral"].n == 6
    assert lb.tests["coral"].mean_diff == pytest.approx((20 + 23 + 26 + 8 + 8 + 8) / 6)
    # dann: +6, +8, +4 and -1, -2, -3: not significant whatever the approximation.
    assert lb.tests["dann"].verdict == "n.s." and t.at["dann", "vs_baseline"] == "n.s."
    assert bool(t.at["dann", "digits2mnist_negative"]) and not bool(
        t.at["dann", "mnist2digits_negative"]
    )
    assert t.at["dann", "digits2mnist_gain"] == pytest.approx(49.0 - 51.0)
    assert t.at["coral", "mnist2digits_ci95"] == pytest.approx(12.42069, abs=1e-4)
    # Ranks over both pairs: digits2mnist coral 59 > so 51 > dann 49; mnist2digits coral > dann > so.
    assert t.at["coral", "avg_rank"] == 1.0 and t.at["dann", "avg_rank"] == 2.5
    assert math.isnan(t.at["coral[weight=5]", "avg_rank"]), "a variant on one pair is not ranked"
    # Costs are means over the selected runs: train_seconds 10 + seed (+5 for dann).
    assert t.at["source_only", "train_s"] == pytest.approx(11.0)
    assert t.at["dann", "train_s"] == pytest.approx(16.0)
    assert t.at["dann", "params_total"] == 150_000 and t.at["dann", "img_per_s"] == 500


def test_variant_rows_and_search_trials():
    lb = build_leaderboard(fixture_records())
    assert "coral[weight=5]" in lb.table.index
    assert lb.table.at["coral[weight=5]", "mnist2digits_n"] == 2
    assert lb.table.at["coral", "mnist2digits_mean"] == pytest.approx(85.0), "main row unchanged"
    assert any("shown as variant row(s): coral[weight=5]" in n for n in lb.notes)
    # The same two settings as trials of a search: the rule selects one, no variant row.
    recs = [r for r in fixture_records() if r.method != "coral"]
    recs += [
        record("coral", "mnist2digits", s, 0.7, hparams_seed=1, hparams={"weight": 5.0})
        for s in range(3)
    ]
    recs += [record("coral", "mnist2digits", s, 0.8) for s in range(3)]
    lb = build_leaderboard(recs)
    assert [m for m in lb.table.index if m.startswith("coral")] == ["coral"]
    assert lb.table.at["coral", "mnist2digits_trials"] == 2
