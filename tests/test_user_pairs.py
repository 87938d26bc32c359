"""User pairs from a YAML file over tiny ImageFolder trees of real PNG files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from dabench.cli import main
from dabench.config import build_config
from dabench.data import PAIRS
from dabench.data.user_pairs import DEFAULT_BACKBONE, register_user_pair
from dabench.errors import UserError

FAST = ["--steps", "4", "--set", "train.eval_every=2", "--set", "train.batch_size=8"]


def _images(root, classes, n=12, size=28, seed=0):
    rng = np.random.default_rng(seed)
    for c in classes:
        (root / c).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            # Class-dependent brightness, so the classes are learnable at all.
            px = rng.integers(0, 128, (size, size, 3)) + 100 * classes.index(c)
            Image.fromarray(px.clip(0, 255).astype(np.uint8)).save(root / c / f"{i}.png")


@pytest.fixture
def pair_file(tmp_path):
    """A pair file without ``classes`` over src/ and tgt/ with folders cat, dog."""
    _images(tmp_path / "src", ["cat", "dog"])
    _images(tmp_path / "tgt", ["cat", "dog"], seed=1)
    path = tmp_path / "pets.yaml"
    path.write_text("name: photos2sketches\nsource: src\ntarget: tgt\nimage_size: 28\n")
    yield path
    PAIRS._items.pop("photos2sketches", None)  # the registry is per process


def test_a_pair_without_classes_runs_and_is_remembered_by_name(pair_file, tmp_path):
    res = tmp_path / "res"
    common = ["--data-root", str(tmp_path), "--results", str(res), "--json"]
    args = ["run", "-m", "source_only", "--set", "backbone=dann_digits", *FAST, *common]
    r = CliRunner().invoke(main, [*args, "-p", str(pair_file)])
    assert r.exit_code == 0, r.output
    rec = json.loads(r.output)["record"]
    assert rec["pair"] == "photos2sketches" and rec["status"] == "ok"
    assert rec["splits"]["target_test"] > 0
    data = rec["config"]["data"]
    assert data["pair_file"] == str(pair_file.resolve()) and len(data["pair_sha256"]) == 64

    # A new process knows nothing of the file: the results folder's records name it.
    PAIRS._items.pop("photos2sketches")
    r = CliRunner().invoke(main, [*args, "-p", "photos2sketches"])
    assert r.exit_code == 0, r.output
    again = json.loads(r.output)
    assert again["reused"] and again["record"]["run_id"] == rec["run_id"]

    PAIRS._items.pop("photos2sketches")
    r = CliRunner().invoke(main, ["report", "--results", str(res), "--json"])
    assert r.exit_code == 0, r.output
    assert "photos2sketches" in json.loads(r.output)["pairs"]

    # Without those records the name means nothing.
    PAIRS._items.pop("photos2sketches")
    other = tmp_path / "other"
    args = [a if a != str(res) else str(other) for a in args]
    r = CliRunner().invoke(main, [*args, "-p", "photos2sketches"])
    assert r.exit_code == 2 and "unknown pair 'photos2sketches'" in r.output


def test_the_default_backbone_is_efficientnet_lite0_unless_the_file_names_one(pair_file):
    cfg = build_config(
        "source_only", str(pair_file), overrides={"data.root": str(pair_file.parent)}
    )
    assert cfg.backbone == DEFAULT_BACKBONE == "efficientnet_lite0"
    assert PAIRS.get("photos2sketches").default_backbone == "efficientnet_lite0"
    pair_file.write_text(pair_file.read_text() + "backbone: lenet\n")
    cfg = build_config(
        "source_only", str(pair_file), overrides={"data.root": str(pair_file.parent)}
    )
    assert cfg.backbone == "lenet"


def test_an_edited_file_re_registers_with_its_new_content(pair_file):
    register_user_pair(pair_file, pair_file.parent)
    assert PAIRS.get("photos2sketches").classes == ("cat", "dog")
    first = PAIRS.get("photos2sketches").origin_sha256
    _images(pair_file.parent / "src", ["cow"])
    _images(pair_file.parent / "tgt", ["cow"])
    pair_file.write_text(pair_file.read_text() + "description: three now\n")
    register_user_pair(pair_file, pair_file.parent)
    pair = PAIRS.get("photos2sketches")
    assert pair.classes == ("cat", "cow", "dog") and pair.description == "three now"
    assert pair.origin_sha256 != first


def test_class_folders_that_differ_are_an_error_naming_them(pair_file):
    _images(pair_file.parent / "src", ["cow"], n=1)
    _images(pair_file.parent / "tgt", ["horse"], n=1)
    with pytest.raises(UserError, match="only in source: cow; only in target: horse"):
        register_user_pair(pair_file, pair_file.parent)
    # A class map reconciles them.
    pair_file.write_text(pair_file.read_text() + "class_map: {target: {horse: cow}}\n")
    register_user_pair(pair_file, pair_file.parent)
    assert PAIRS.get("photos2sketches").classes == ("cat", "cow", "dog")


def test_pair_check_counts_images_per_class_and_fails_in_one_line(pair_file):
    root = ["--data-root", str(pair_file.parent)]
    r = CliRunner().invoke(main, ["pair", "check", str(pair_file), *root])
    assert r.exit_code == 0, r.output
    lines = {ln.split("│")[1].strip(): ln for ln in r.output.splitlines() if ln.count("│") == 4}
    assert [c.strip() for c in lines["cat"].split("│")[2:4]] == ["12", "12"]
    assert [c.strip() for c in lines["total"].split("│")[2:4]] == ["24", "24"]
    assert "efficientnet_lite0" in r.output

    (pair_file.parent / "src" / "cow").mkdir()
    (pair_file.parent / "tgt" / "cow").mkdir()
    _images(pair_file.parent / "tgt", ["cow"], n=2)
    r = CliRunner().invoke(main, ["pair", "check", str(pair_file), *root])
    assert r.exit_code == 2 and r.output.strip().count("\n") == 0
    assert "no images for cow (source)" in r.output
    r = CliRunner().invoke(main, ["pair", "check", str(pair_file.parent / "nope.yaml")])
    assert r.exit_code == 2 and "pair file not found" in r.output


def test_working_directory_pairs_register_and_one_without_its_folders_is_skipped(
    pair_file, tmp_path, monkeypatch, caplog
):
    from dabench.data.user_pairs import register_config_pairs

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DABENCH_DATA", str(tmp_path))
    (tmp_path / "configs" / "pairs").mkdir(parents=True)
    (tmp_path / "configs" / "pairs" / "pets.yaml").write_text(pair_file.read_text())
    (tmp_path / "configs" / "pairs" / "ghost.yaml").write_text(
        "name: ghost2none\nsource: nowhere\ntarget: nothing\n"
    )
    register_config_pairs()
    assert PAIRS.get("photos2sketches").origin.endswith("configs/pairs/pets.yaml")
    assert "ghost2none" not in PAIRS
    assert "ghost.yaml not registered" in caplog.text and "nowhere does not exist" in caplog.text
