"""Leaderboards from fixed records: statistics, honesty notes, and a golden file."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from dabench.errors import UserError
from dabench.records import RunRecord
from dabench.report import build_leaderboard, to_csv, to_markdown
from tests.report_fixtures import selections

GOLDEN = Path(__file__).parent / "golden"

ACC = {
    # method: {pair: [acc per seed]}
    "source_only": {"mnist2digits": [0.60, 0.62, 0.64], "digits2mnist": [0.50, 0.52, 0.51]},
    "coral": {"mnist2digits": [0.80, 0.85, 0.90], "digits2mnist": [0.58, 0.60, 0.59]},
    "dann": {"mnist2digits": [0.66, 0.70, 0.68], "digits2mnist": [0.49, 0.50, 0.48]},
    "bad": {"mnist2digits": [0.55, 0.56, 0.57], "digits2mnist": [0.40, 0.41, 0.42]},
}


def record(
    method,
    pair,
    seed,
    acc,
    status="ok",
    train=None,
    created="2026-01-01T00:00:00+00:00",
    hparams=None,
    sv=0.9,
    hparams_seed=0,
):
    scored = status in ("ok", "collapsed")
    return RunRecord.from_dict(
        {
            "run_id": f"{method}__{pair}__s{seed}",
            "method": method,
            "pair": pair,
            "pair_version": 1,
            "seed": seed,
            "status": status,
            "config_hash": "h",
            "backbone": "dann_digits",
            "schema": 2,
            "hparams_seed": hparams_seed,
            "config": {
                "method": method,
                "pair": pair,
                "seed": seed,
                "hparams_seed": hparams_seed,
                "train": train or {"steps": 1000},
                "hparams": hparams or {},
            },
            "by_selection": selections(acc, sv) if scored else {},
            "created": created,
        }
    )


@pytest.fixture
def records():
    return [
        record(m, p, s, a)
        for m, pairs in ACC.items()
        for p, accs in pairs.items()
        for s, a in enumerate(accs)
    ]


def test_cells_are_mean_and_sample_std_over_seeds(records):
    lb = build_leaderboard(records)
    t = lb.table
    vals = 100 * np.array(ACC["coral"]["mnist2digits"])
    assert t.at["coral", "mnist2digits_mean"] == pytest.approx(vals.mean())
    assert t.at["coral", "mnist2digits_std"] == pytest.approx(vals.std(ddof=1))
    assert t.at["coral", "mnist2digits_n"] == 3
    avg = np.mean([100 * np.mean(ACC["coral"][p]) for p in ("digits2mnist", "mnist2digits")])
    assert t.at["coral", "avg"] == pytest.approx(avg)
    assert list(t.index[:1]) == ["coral"] and t.at["coral", "rank"] == 1


def test_leaderboard_says_who_does_not_beat_the_baseline(records):
    lb = build_leaderboard(records)
    t = lb.table
    assert t.at["coral", "beats_baseline"] == "2/2"
    assert t.at["dann", "beats_baseline"] == "1/2 (not on digits2mnist)"
    assert t.at["bad", "beats_baseline"].startswith("0/2")
    assert t.at["bad", "delta_vs_baseline"] < 0
    assert any("Does not beat source_only on average: bad" in n for n in lb.notes)


def test_oracle_selection_and_f1_are_read_from_their_own_fields(records):
    o = build_leaderboard(records, selection="oracle").table
    f = build_leaderboard(records, metric="f1").table
    a = build_leaderboard(records).table
    assert o.at["coral", "avg"] == pytest.approx(a.at["coral", "avg"] + 1.0)
    assert f.at["coral", "avg"] == pytest.approx(a.at["coral", "avg"] - 5.0)


def test_failed_runs_unequal_budgets_and_variants_are_reported(records):
    records.append(record("coral", "mnist2digits", 9, 0.1, status="failed"))
    records.append(
        record("dann", "mnist2digits", 0, 0.99, train={"steps": 5}, created="2027-01-01")
    )
    lb = build_leaderboard(records)
    notes = " ".join(lb.notes)
    assert "1 failed or diverged run(s) not included" in notes
    assert "dann on mnist2digits: 1 other config(s) ignored" in notes
    assert (
        lb.table.at["dann", "mnist2digits_n"] == 3
    )  # the 3-seed config wins, not the newer 1-seed one


def test_no_records_is_a_user_error():
    with pytest.raises(UserError, match="no successful run records"):
        build_leaderboard([])


def test_golden_markdown_and_csv(records):
    lb = build_leaderboard(records)
    got = {"leaderboard.md": to_markdown(lb), "leaderboard.csv": to_csv(lb)}
    for name, text in got.items():
        path = GOLDEN / name
        if os.environ.get("DABENCH_UPDATE_GOLDEN"):
            path.write_text(text)
        assert text == path.read_text(), (
            f"{name} changed; rerun with DABENCH_UPDATE_GOLDEN=1 if intended"
        )
