"""Bad data on disk: truncated and corrupted dataset files, wrong checksums,
undecodable images, odd image modes, class folders that do not line up.

Every fault is written by the test in the real on-disk format, then broken;
each must give one line that names the file and the fix (exit code 2 from the
CLI), or, for undecodable images under ``data.bad_images=skip``, a warning
with the count and a run that goes on.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import logging
import pickle
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch
from click.testing import CliRunner
from PIL import Image
from test_sources_arrays import rand_images, usps_line, write_cifar, write_idx, write_stl

from dabench.cli import main
from dabench.config import build_config
from dabench.data.pairs import PAIRS, DataContext
from dabench.data.sources import (
    DataCorruptError,
    load_cifar10,
    load_image_folder,
    load_mnist_idx,
    load_stl10,
    load_svhn,
    load_usps,
)
from dabench.data.sources import idx as idx_module
from dabench.data.sources.decode import BadImageError, decode_image
from dabench.errors import DataMissingError, UserError

FIX = "dabench data prepare"


@pytest.fixture(autouse=True)
def _no_system_fashion_mnist(tmp_path, monkeypatch):
    monkeypatch.setattr(idx_module, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "no-debian")


def ctx(root: Path, bad_images: str = "error") -> DataContext:
    return DataContext(root, download=False, bad_images=bad_images)


def one_line_naming(err: pytest.ExceptionInfo, *fragments: str) -> str:
    message = str(err.value)
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


def truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def flip_bytes(path: Path, start: int, n: int = 16) -> None:
    data = bytearray(path.read_bytes())
    for i in range(start, min(start + n, len(data))):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


# ------------------------------------------------ array datasets read by torchvision


def test_truncated_cifar_batch_names_the_file(tmp_path):
    write_cifar(tmp_path)
    truncate(tmp_path / "cifar-10-batches-py" / "test_batch")
    with pytest.raises(DataCorruptError) as err:
        load_cifar10(ctx(tmp_path), "test")
    one_line_naming(err, "test_batch", str(tmp_path / "cifar-10-batches-py"), FIX)
    load_cifar10(ctx(tmp_path), "train")  # the intact batches still load


def test_cifar_meta_with_garbage_names_the_file(tmp_path):
    write_cifar(tmp_path)
    flip_bytes(tmp_path / "cifar-10-batches-py" / "batches.meta", 0, 4)
    with pytest.raises(DataCorruptError) as err:
        load_cifar10(ctx(tmp_path), "test")
    one_line_naming(err, "batches.meta", FIX)


def test_truncated_stl_images_name_the_file(tmp_path):
    images = rand_images(3, 2, 96, 96, 3)
    write_stl(tmp_path, "train", images, [1, 2])
    write_stl(tmp_path, "test", images, [3, 4])
    truncate(tmp_path / "stl10_binary" / "train_X.bin", 0.7)
    with pytest.raises(DataCorruptError) as err:
        load_stl10(ctx(tmp_path), "train")
    one_line_naming(err, "train_X.bin", FIX)


def test_stl_label_zero_is_caught_after_torchvision_subtracts_one(tmp_path):
    images = rand_images(3, 2, 96, 96, 3)
    write_stl(tmp_path, "train", images, [1, 0])  # labels are 1..10 on disk
    write_stl(tmp_path, "test", images, [3, 4])
    with pytest.raises(DataCorruptError) as err:
        load_stl10(ctx(tmp_path), "train")
    one_line_naming(err, "train_y.bin", "outside 0..9")


def write_svhn(root: Path, n: int = 3) -> Path:
    (root / "svhn").mkdir(parents=True, exist_ok=True)
    path = root / "svhn" / "test_32x32.mat"
    x = np.ascontiguousarray(rand_images(1, n, 32, 32, 3).transpose(1, 2, 3, 0))
    scipy.io.savemat(path, {"X": x, "y": np.arange(1, n + 1, dtype=np.uint8)[:, None]})
    return path


@pytest.mark.parametrize("damage", ["truncate", "header"])
def test_damaged_svhn_mat_names_the_file(tmp_path, damage):
    path = write_svhn(tmp_path)
    if damage == "truncate":
        truncate(path)
    else:
        flip_bytes(path, 124, 8)  # the MAT-file version and endian marks
    with pytest.raises(DataCorruptError) as err:
        load_svhn(ctx(tmp_path), "test")
    one_line_naming(err, str(path), FIX)


def test_svhn_labels_out_of_range(tmp_path):
    path = write_svhn(tmp_path)
    x = scipy.io.loadmat(path)["X"]
    scipy.io.savemat(path, {"X": x, "y": np.array([[1], [12], [3]], np.uint8)})
    with pytest.raises(DataCorruptError) as err:
        load_svhn(ctx(tmp_path), "test")
    one_line_naming(err, str(path), "label 12")


def test_truncated_usps_bz2_names_the_file(tmp_path):
    lines = "".join(usps_line(c, np.zeros(256)) for c in range(1, 11)) * 20
    (tmp_path / "usps.bz2").write_bytes(bz2.compress(lines.encode()))
    truncate(tmp_path / "usps.bz2")
    with pytest.raises(DataCorruptError) as err:
        load_usps(ctx(tmp_path), "train")
    one_line_naming(err, str(tmp_path / "usps.bz2"), FIX)


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_idx_names_the_file(tmp_path, gz):
    raw = tmp_path / "MNIST" / "raw"
    write_idx(raw, "test", rand_images(2, 4, 28, 28, 1)[..., 0], np.arange(4, dtype=np.uint8), gz)
    name = "t10k-images-idx3-ubyte" + (".gz" if gz else "")
    truncate(raw / name, 0.6)
    with pytest.raises(DataCorruptError) as err:
        load_mnist_idx(ctx(tmp_path), "test")
    one_line_naming(err, str(raw / name), FIX)


# ------------------------------------------------ checksums


def test_download_with_a_wrong_checksum_names_the_file(tmp_path, monkeypatch):
    """torchvision's download checks md5 with check_integrity; the error names the file."""
    import torchvision.datasets.utils as tv_utils

    def fake_retrieve(url, filename, *args, **kwargs):  # the "download" brings garbage
        Path(filename).write_bytes(b"not the published file")

    monkeypatch.setattr(tv_utils, "_urlretrieve", fake_retrieve)
    monkeypatch.setattr(tv_utils, "_get_redirect_url", lambda url, max_hops=3: url, raising=False)
    with pytest.raises(DataCorruptError) as err:
        load_usps(DataContext(tmp_path, download=True), "test")
    one_line_naming(err, "checksum mismatch", "usps.t.bz2 (md5", "delete")


# ------------------------------------------------ image files


def png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def write_rgb(path: Path, color=(10, 200, 30), size=(6, 5)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)


def write_garbage_png(path: Path) -> None:
    """A real PNG signature and header, then garbage where the pixels should be."""
    path.parent.mkdir(parents=True, exist_ok=True)
    good = png_bytes(Image.new("RGB", (8, 8), (1, 2, 3)))
    path.write_bytes(good[:33] + b"\x00\x00\x00\x10IDAT" + bytes(range(16)) + b"garbage!")


def write_truncated_jpeg(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    Image.fromarray(rand_images(0, 1, 64, 64, 3)[0]).save(buf, format="JPEG")
    path.write_bytes(buf.getvalue()[:300])


@pytest.mark.parametrize("writer", [write_garbage_png, write_truncated_jpeg])
def test_undecodable_image_is_one_line_error_naming_file_and_fix(tmp_path, writer):
    bad = tmp_path / "d" / "cat" / ("bad.png" if writer is write_garbage_png else "bad.jpg")
    writer(bad)
    write_rgb(tmp_path / "d" / "cat" / "ok.png")
    write_rgb(tmp_path / "d" / "dog" / "ok.png")
    ds = load_image_folder(tmp_path / "d", size=8, channels=3)  # "error": decoded lazily
    assert len(ds) == 3
    with pytest.raises(BadImageError) as err:
        ds[[p.name for p in ds.paths].index(bad.name)]
    one_line_naming(err, str(bad), "data.bad_images=skip", "replace or delete")
    assert isinstance(err.value, UserError)


def test_skip_leaves_bad_images_out_with_a_warning(tmp_path, caplog):
    for i in range(4):
        write_rgb(tmp_path / "d" / "cat" / f"{i}.png")
        write_rgb(tmp_path / "d" / "dog" / f"{i}.png", (0, 0, 0))
    write_garbage_png(tmp_path / "d" / "cat" / "9_bad.png")
    write_truncated_jpeg(tmp_path / "d" / "dog" / "9_bad.jpg")
    (tmp_path / "d" / "dog" / "empty.png").write_bytes(b"")
    with caplog.at_level(logging.WARNING):
        ds = load_image_folder(tmp_path / "d", size=8, channels=3, bad_images="skip")
    assert len(ds) == 8 and ds.targets.tolist() == [0] * 4 + [1] * 4
    assert sorted(p.name for p in ds.skipped) == ["9_bad.jpg", "9_bad.png", "empty.png"]
    assert all("bad" not in p.name and p.name != "empty.png" for p in ds.paths)
    warning = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warning) == 1 and "skipped 3 of 11 images" in warning[0]
    for i in range(len(ds)):
        assert ds[i][0].shape == (3, 8, 8)


def test_skip_that_empties_a_class_is_an_error(tmp_path):
    write_rgb(tmp_path / "d" / "cat" / "0.png")
    write_garbage_png(tmp_path / "d" / "dog" / "0.png")
    with pytest.raises(BadImageError) as err:
        load_image_folder(tmp_path / "d", bad_images="skip")
    one_line_naming(err, "no image of class dog decodes", str(tmp_path / "d" / "dog" / "0.png"))


def test_sixteen_bit_grey_png_is_scaled_not_clipped(tmp_path):
    values = np.array([[0, 256, 1000], [20000, 40000, 65535]], dtype=np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(values).save(path)
    assert Image.open(path).mode.startswith("I")
    expected = torch.from_numpy(values.astype(np.float32) / 65535)
    native = decode_image(path)
    assert native.shape == (1, 2, 3)
    torch.testing.assert_close(native[0], expected)
    rgb = decode_image(path, channels=3)
    assert rgb.shape == (3, 2, 3)
    torch.testing.assert_close(rgb[1], expected)
    # Resized in floating point: a flat 16-bit image stays at its level.
    flat = tmp_path / "flat.png"
    Image.fromarray(np.full((5, 7), 30000, np.uint16)).save(flat)
    torch.testing.assert_close(
        decode_image(flat, size=4, channels=3), torch.full((3, 4, 4), 30000 / 65535)
    )


def test_rgba_drops_alpha_and_grey_repeats_in_an_rgb_folder(tmp_path):
    rgba = tmp_path / "d" / "a" / "rgba.png"
    rgba.parent.mkdir(parents=True)
    Image.new("RGBA", (4, 4), (200, 100, 50, 0)).save(rgba)  # fully transparent
    grey = tmp_path / "d" / "b" / "grey.png"
    grey.parent.mkdir(parents=True)
    Image.new("L", (4, 4), 90).save(grey)
    ds = load_image_folder(tmp_path / "d", size=4, channels=3)
    torch.testing.assert_close(
        ds[0][0], torch.tensor([200, 100, 50]).view(3, 1, 1) / 255 * torch.ones(3, 4, 4)
    )
    torch.testing.assert_close(ds[1][0], torch.full((3, 4, 4), 90 / 255))


def test_empty_class_folder_and_empty_domain(tmp_path):
    write_rgb(tmp_path / "d" / "cat" / "0.png")
    (tmp_path / "d" / "dog").mkdir()
    with pytest.raises(DataMissingError) as err:
        load_image_folder(tmp_path / "d")
    one_line_naming(err, "dog", "add images")
    (tmp_path / "e").mkdir()
    with pytest.raises(DataMissingError) as err:
        load_image_folder(tmp_path / "e")
    one_line_naming(err, str(tmp_path / "e"), "no class sub-folders")


# ------------------------------------------------ user pairs through the CLI


def user_pair(tmp_path: Path, name: str) -> Path:
    for side, seed in (("src", 0), ("tgt", 1)):
        rng = np.random.default_rng(seed)
        for c in ("cat", "dog"):
            (tmp_path / side / c).mkdir(parents=True, exist_ok=True)
            for i in range(8):
                Image.fromarray(rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)).save(
                    tmp_path / side / c / f"{i}.png"
                )
    spec = tmp_path / f"{name}.yaml"
    spec.write_text(
        f"name: {name}\nsource: src\ntarget: tgt\nclasses: [cat, dog]\n"
        "image_size: 16\nbackbone: dann_digits\n"
    )
    return spec


def run_args(spec: Path, tmp_path: Path, results: Path, *extra: str) -> list[str]:
    return [
        "run",
        "-m",
        "source_only",
        "-p",
        str(spec),
        "--data-root",
        str(tmp_path),
        "--results",
        str(results),
        "--steps",
        "2",
        "--set",
        "train.eval_every=2",
        "--set",
        "train.batch_size=32",
        *extra,
    ]


def test_cli_bad_image_error_then_skip_counts_in_the_record(tmp_path):
    spec = user_pair(tmp_path, "badsrc2tgt")
    bad = tmp_path / "src" / "dog" / "3.png"  # every source image is read in the first step
    write_garbage_png(bad)
    results = tmp_path / "results"
    r = CliRunner().invoke(main, run_args(spec, tmp_path, results))
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and "data.bad_images=skip" in lines[0]

    r = CliRunner().invoke(main, run_args(spec, tmp_path, results, "--set", "data.bad_images=skip"))
    assert r.exit_code == 0, r.output
    records = [json.loads(p.read_text()) for p in results.glob("**/*.json")]
    ok = [rec for rec in records if rec.get("status") == "ok"]
    assert len(ok) == 1
    assert ok[0]["extra"]["data_skipped_images_source"] == 1
    assert ok[0]["extra"]["data_skipped_images_target"] == 0
    assert ok[0]["config"]["data"]["bad_images"] == "skip"


def test_cli_class_folders_that_disagree_and_empty_ones_are_exit_2(tmp_path):
    spec = user_pair(tmp_path, "mismatch2tgt")
    (tmp_path / "tgt" / "dog").rename(tmp_path / "tgt" / "doggo")
    r = CliRunner().invoke(main, run_args(spec, tmp_path, tmp_path / "results"))
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and "missing: dog" in lines[0] and "unexpected: doggo" in lines[0]
    (tmp_path / "tgt" / "doggo").rename(tmp_path / "tgt" / "dog")
    for f in (tmp_path / "tgt" / "dog").iterdir():
        f.unlink()
    r = CliRunner().invoke(main, run_args(spec, tmp_path, tmp_path / "results"))
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and "class folders with no" in lines[0] and "dog" in lines[0]


def test_bad_images_is_validated_and_hashed_only_when_not_the_default():
    with pytest.raises(UserError, match="data.bad_images must be one of error, skip"):
        build_config("source_only", "mnist2usps", overrides={"data.bad_images": "ignore"})
    default = build_config("source_only", "mnist2usps")
    skip = build_config("source_only", "mnist2usps", overrides={"data.bad_images": "skip"})
    assert "bad_images" not in default.hashed_dict()["data"]
    assert skip.hashed_dict()["data"]["bad_images"] == "skip"
    pair = PAIRS.get("mnist2usps")
    from dabench.config import config_hash

    assert config_hash(default, pair.version, 1) != config_hash(skip, pair.version, 1)


def test_pickle_of_the_wrong_shape_is_corrupt(tmp_path):
    write_cifar(tmp_path)
    path = tmp_path / "cifar-10-batches-py" / "test_batch"
    path.write_bytes(pickle.dumps({"data": np.zeros((2, 100), np.uint8), "labels": [0, 1]}))
    with pytest.raises(DataCorruptError) as err:
        load_cifar10(ctx(tmp_path), "test")
    one_line_naming(err, "test_batch", FIX)


def test_gzip_of_garbage_names_the_file(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x03garbage"))
    (raw / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x01"))
    with pytest.raises(DataCorruptError) as err:
        load_mnist_idx(ctx(tmp_path), "test")
    one_line_naming(err, "t10k-images-idx3-ubyte.gz", FIX)


def test_cli_run_on_a_truncated_dataset_file_is_exit_2_one_line(tmp_path):
    from test_catalog import write_cifar_fixture, write_stl_fixture

    write_cifar_fixture(tmp_path)
    write_stl_fixture(tmp_path)
    truncate(tmp_path / "stl10_binary" / "test_X.bin", 0.9)
    args = ["run", "-m", "source_only", "-p", "cifar2stl", "--data-root", str(tmp_path)]
    r = CliRunner().invoke(
        main,
        [
            *args,
            "--results",
            str(tmp_path / "results"),
            "--steps",
            "2",
            "--set",
            "train.eval_every=2",
        ],
    )
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and "test_X.bin" in lines[0] and FIX in lines[0], lines


def test_leaderboard_notes_runs_that_skipped_images():
    from report_fixtures import fixture_records

    from dabench.report.leaderboard import build_leaderboard

    records = fixture_records()
    assert not any("undecodable" in n for n in build_leaderboard(records).notes)
    records[0].extra = {"data_skipped_images_source": 2, "data_skipped_images_target": 1}
    records[1].extra = {"data_skipped_images_source": 0, "data_skipped_images_target": 0}
    notes = [n for n in build_leaderboard(records).notes if "undecodable" in n]
    assert notes == [
        "1 run(s) left out undecodable images (data.bad_images=skip; up to 3 per run, "
        "see data_skipped_images_* in their records)."
    ]


def test_feature_cache_key_tells_skipped_folders_apart(tmp_path):
    from dabench.data.feature_cache import dataset_digest
    from dabench.data.pairs import _subset

    for i in range(3):
        write_rgb(tmp_path / "d" / "cat" / f"{i}.png")
    clean = load_image_folder(tmp_path / "d", bad_images="skip")
    write_garbage_png(tmp_path / "d" / "cat" / "0.png")
    write_rgb(tmp_path / "d" / "cat" / "3.png")
    skipping = load_image_folder(tmp_path / "d", bad_images="skip")
    assert len(clean) == len(skipping) == 3 and len(skipping.skipped) == 1
    # Same length, labels and member indices, other files: the digests must differ.
    members = np.array([0, 1])
    assert dataset_digest(_subset(clean, members)) != dataset_digest(_subset(skipping, members))
