"""Runs trained on target labels are an upper bound: reported apart, never
ranked, never the baseline, never compared with the adapters."""

from __future__ import annotations

import dataclasses

import pytest

from dabench.errors import UserError
from dabench.records import RunRecord
from dabench.report import build_leaderboard, to_markdown
from dabench.report.html import to_html
from tests.report_fixtures import fixture_records, record


def labeled(rec: RunRecord) -> RunRecord:
    return dataclasses.replace(rec, target_access="labeled", reads_target_labels=True)


@pytest.fixture
def with_upper():
    recs = fixture_records()
    # target_only far above everyone: if it were ranked it would be rank 1.
    recs += [
        labeled(record("target_only", p, s, 0.99))
        for p in ("mnist2digits", "digits2mnist")
        for s in range(3)
    ]
    return recs


def test_upper_bound_is_left_out_of_ranks_baseline_and_tests(with_upper):
    plain = build_leaderboard(fixture_records())
    lb = build_leaderboard(with_upper)
    assert "target_only" not in lb.table.index
    assert "target_only" not in lb.tests and "target_only" not in lb.ranks.avg_rank
    assert list(lb.table.index) == list(plain.table.index)
    assert lb.table["rank"].equals(plain.table["rank"])
    assert lb.table["avg_rank"].equals(plain.table["avg_rank"])
    assert lb.upper_bound is not None
    assert list(lb.upper_bound.table.index) == ["target_only"]
    assert lb.upper_bound.table.at["target_only", "mnist2digits_mean"] == pytest.approx(99.0)


def test_upper_bound_is_never_the_baseline():
    """Even when it is the only method named like a baseline could be: with no
    source_only runs, nothing is compared, target_only included."""
    recs = [r for r in fixture_records() if r.method != "source_only"]
    recs += [labeled(record("target_only", "mnist2digits", s, 0.99)) for s in range(3)]
    lb = build_leaderboard(recs)
    assert "delta_vs_baseline" not in lb.table
    assert any("No source_only runs" in n for n in lb.notes)


def test_upper_bound_has_its_own_section_in_markdown_and_html(with_upper, tmp_path):
    md = to_markdown(build_leaderboard(with_upper))
    main, _, upper = md.partition("Upper bound (reads target labels")
    assert upper and "target_only" in upper and "99.00" in upper
    assert "target_only" not in main
    html = to_html(build_leaderboard(with_upper), tmp_path)
    assert "Upper bound (reads target labels" in html and "target_only" in html


def test_only_upper_bound_runs_is_a_user_error():
    with pytest.raises(UserError, match="only upper-bound runs"):
        build_leaderboard([labeled(record("target_only", "mnist2digits", 0, 0.9))])


def test_records_say_they_read_target_labels():
    d = record("target_only", "mnist2digits", 0, 0.9).to_dict()
    d["target_access"] = "labeled"
    d.pop("reads_target_labels", None)  # a record written before the field
    assert RunRecord.from_dict(d).reads_target_labels is True
    d["target_access"] = "unlabeled"
    assert RunRecord.from_dict(d).reads_target_labels is False
