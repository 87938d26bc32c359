from __future__ import annotations

from dabench import api
from dabench.config import build_config


def test_same_config_and_seed_give_same_metrics(tmp_path):
    cfg = dict(overrides={"train.steps": 30, "train.eval_every": 10})
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.mkdir()
    b.mkdir()
    ra, _ = api.run(build_config("dann", "mnist2digits", 5, **cfg), a)
    rb, _ = api.run(build_config("dann", "mnist2digits", 5, **cfg), b)
    assert ra.run_id == rb.run_id
    assert ra.metrics == rb.metrics
    assert ra.by_selection == rb.by_selection
    assert ra.final_losses == rb.final_losses
    curve_a = (a / "curves" / f"{ra.run_id}.csv").read_text()
    assert curve_a == (b / "curves" / f"{rb.run_id}.csv").read_text()
    rc, _ = api.run(build_config("dann", "mnist2digits", 6, **cfg), a)
    assert rc.final_losses != ra.final_losses, "a different seed changes the run"
