"""The HTML report opened in headless Chromium: its tables and non-blank plots.

The set-up installs Debian's chromium and chromium-driver when they are missing
and this is root with apt-get (as in CI); otherwise the browser test skips and
says why. The page's self-containment is checked without a browser.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from report_fixtures import fixture_records, record, write_references

from dabench.records import write_record
from dabench.report import build_leaderboard
from dabench.report.html import to_html
from dabench.report.references import compare, load_references


def _ensure_chromium() -> str | None:
    """None when a browser can be driven, else why not."""
    from dabench.report import browser

    why = browser.missing()
    if why is None or "selenium" in why:
        return why
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return f"{why}; not root with apt-get, so the test cannot install it"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (
        ["apt-get", "update", "-qq"],
        [
            "apt-get",
            "install",
            "-y",
            "-qq",
            "--no-install-recommends",
            "chromium",
            "chromium-driver",
        ],
    ):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            return f"{why}; `{' '.join(cmd)}` failed: {done.stderr.strip()[-200:]}"
    return browser.missing()


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    results = tmp_path_factory.mktemp("html") / "results"
    # One pair keeps the page (and the test) small; the k-shot, curve and
    # feature sections all have something to show on it.
    recs = [r for r in fixture_records() if r.pair == "mnist2digits"]
    # Few-shot runs (data.shots > 0) give a k-shot curve.
    for shots, acc in ((1, 0.70), (5, 0.78)):
        for s in range(2):
            r = record("source_only", "mnist2digits", s, acc + s / 100)
            r.run_id += f"_k{shots}"
            r.config["data"] = {"shots": shots}
            recs.append(r)
    for r in recs:
        write_record(results, r)
    steps = np.arange(100, 1001, 100)
    for r in recs:
        if r.pair == "mnist2digits":
            curve = pd.DataFrame(
                {
                    "step": steps,
                    "source_val_acc": 0.5 + 0.4 * steps / 1000,
                    "target_val_acc_oracle": 0.3 + 0.3 * steps / 1000 + r.seed / 50,
                }
            )
            (results / "curves").mkdir(exist_ok=True)
            curve.to_csv(results / "curves" / f"{r.run_id}.csv", index=False)
    rng = np.random.default_rng(0)
    (results / "features").mkdir()
    np.savez(
        results / "features" / "dann__mnist2digits__s0__0.npz",
        source=rng.normal(size=(60, 8)),
        target=rng.normal(1.0, size=(60, 8)),
    )
    lb = build_leaderboard(recs)
    lb.references = compare(lb, load_references(write_references(results.parent / "refs")))
    path = results / "report.html"
    path.write_text(to_html(lb, results))
    return path


def test_page_is_self_contained(page):
    text = page.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), "no network fetches"
    assert "<script" not in text and "<style>" in text
    assert text.count("data:image/png;base64,") >= 8
    for section in ("Training curves", "k-shot curves", "Feature embeddings", "confusion"):
        assert section in text
    assert "No run saved a feature sample" not in text and "No few-shot runs" not in text


def test_page_renders_in_chromium_with_tables_and_non_blank_plots(page, tmp_path):
    why = _ensure_chromium()
    if why:
        pytest.skip(f"cannot drive a browser: {why}")
    from PIL import Image

    from dabench.report.browser import check_page, pixel_std

    shot = tmp_path / "shot.png"
    c = check_page(page, screenshot_to=shot)
    assert c.title == "dabench report"
    assert c.tables == 3, "leaderboard, published numbers, selected trials"
    board, refs, trials = c.table_texts
    assert "coral[weight=5]" in board and "beats source_only?" in board
    assert "85.00 ± 12.42 (3)" in board
    assert "Paper A" in refs and "+5.00" in refs
    assert "hyperparameters" in trials
    alts = [a for a, _, _ in c.plots]
    for want in ("bars", "heatmap", "cost", "training curves mnist2digits", "k-shot", "features"):
        assert any(want in a for a in alts), (want, alts)
    for alt, width, std in c.plots:
        assert width > 0, f"{alt} did not load"
        assert std > 5.0, f"{alt} looks blank (pixel std {std:.2f})"
    assert pixel_std(shot.read_bytes()) > 5.0
    # The measure itself: a blank image has no spread.
    blank = tmp_path / "blank.png"
    Image.new("RGB", (200, 100), "white").save(blank)
    assert pixel_std(blank.read_bytes()) == 0.0
