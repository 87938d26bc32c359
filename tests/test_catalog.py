"""Registered pairs over real on-disk formats: class maps, official test
splits, missing-data messages, data status, user-defined pairs."""

from __future__ import annotations

import bz2
import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

# Fixture writers in the real formats live with the loader tests.
from test_sources_arrays import cifar_rows, usps_line, write_idx, write_stl  # noqa: E402

from dabench.cli import main
from dabench.data import PAIRS, DataContext, make_splits
from dabench.data.class_maps import STL_CIFAR_SHARED

N_PER_CLASS = 8


def labelled_images(n_per_class: int, classes: int, h: int, w: int, c: int, seed: int):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(classes), n_per_class)
    images = rng.integers(0, 256, size=(len(labels), h, w, c), dtype=np.uint8)
    # Brand each image with its label so a relabelling bug shows up in pixels.
    images[:, 0, 0, :] = labels[:, None] * 20
    return images, labels


def write_cifar_fixture(root: Path) -> None:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for k, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        images, labels = labelled_images(
            N_PER_CLASS if name == "data_batch_1" or name == "test_batch" else 1, 10, 32, 32, 3, k
        )
        batch = {"labels": labels.tolist(), "data": cifar_rows(images), "batch_label": "x"}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    names = ["airplane", "automobile", "bird", "cat", "deer"]
    names += ["dog", "frog", "horse", "ship", "truck"]
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": names}, protocol=2))


def write_stl_fixture(root: Path) -> None:
    for split, seed in (("train", 10), ("test", 11)):
        images, labels = labelled_images(N_PER_CLASS, 10, 96, 96, 3, seed)
        write_stl(root, split, images, (labels + 1).tolist())


def test_every_published_pair_is_registered():
    names = set(PAIRS.names())
    expected = {
        "imagenet2cifar",
        "cifar2stl",
        "stl2cifar",
        "mnist2usps",
        "usps2mnist",
        "svhn2mnist",
        "mnist2mnistm",
        "mnist2digits",
        "digits2mnist",
        "imagenet2fashion",
    }
    expected |= {f"office31_{s}2{t}" for s in "adw" for t in "adw" if s != t}
    oh = ["art", "clipart", "product", "real_world"]
    expected |= {f"officehome_{s}2{t}" for s in oh for t in oh if s != t}
    assert expected <= names
    r = CliRunner().invoke(main, ["list", "pairs"], env={"COLUMNS": "300"})
    assert r.exit_code == 0
    listed = {line.split("│")[1].strip() for line in r.output.splitlines() if line.count("│") > 2}
    assert expected <= listed


def test_imagenet2cifar_drops_unmapped_classes_explicitly():
    pair = PAIRS.get("imagenet2cifar")
    assert "deer" not in pair.classes and len(pair.classes) == 9
    assert "dropped: deer" in pair.description
    assert pair.default_backbone == "efficientnet_lite0"


def test_imagenet2cifar_without_data_says_exactly_what_to_provide(tmp_path, results_dir):
    r = CliRunner().invoke(
        main,
        [
            "run",
            "--method",
            "coral",
            "--pair",
            "imagenet2cifar",
            "--data-root",
            str(tmp_path),
            "--results",
            str(results_dir),
        ],
    )
    assert r.exit_code == 2, r.output
    line = r.output.strip()
    assert "\n" not in line and line.startswith(
        "Error: pair 'imagenet2cifar' needs data that is missing"
    )
    assert (
        f"at {tmp_path}/imagenet/train" in line and "one sub-folder of JPEGs per WordNet id" in line
    )
    assert "cifar-10-batches-py" in line and "--download" in line
    assert not any(results_dir.iterdir()), "nothing recorded for a run that could not start"


def test_cifar2stl_reads_real_formats_and_shares_nine_classes(tmp_path):
    write_cifar_fixture(tmp_path)
    write_stl_fixture(tmp_path)
    ctx = DataContext(tmp_path)
    s = make_splits(PAIRS.get("cifar2stl"), ctx)
    # Source: CIFAR train batches minus frog; target test: the official STL test split minus monkey.
    n_train = (N_PER_CLASS + 4) * 9
    assert len(s.source_train) + len(s.source_val) == n_train
    assert len(s.target_test) == N_PER_CLASS * 9
    assert len(s.target_train) + len(s.target_val) == N_PER_CLASS * 9
    for ds in (s.source_train, s.target_test):
        assert ds.x.shape[1:] == (3, 32, 32)
        assert set(ds.y.tolist()) <= set(range(9))
    # STL 'car' (label 2) must become shared 'automobile' (index 1), monkey gone:
    assert STL_CIFAR_SHARED.stl10[2] == 1 and 7 not in STL_CIFAR_SHARED.stl10
    stl_test = s.target_test
    assert torch.bincount(stl_test.y, minlength=9).tolist() == [N_PER_CLASS] * 9


def write_mnist_usps(root: Path, test_gz: bool) -> None:
    """MNIST IDX (60 train, 20 test) and USPS bz2 (60 train, 30 test) fixtures."""
    images, labels = labelled_images(6, 10, 28, 28, 1, 0)
    raw = root / "MNIST" / "raw"
    write_idx(raw, "train", images[..., 0], labels.astype(np.uint8), gz=True)
    write_idx(raw, "test", images[:20, ..., 0], labels[:20].astype(np.uint8), gz=test_gz)
    rng = np.random.default_rng(0)
    for name, n in (("usps.bz2", 6), ("usps.t.bz2", 3)):
        labels_1_to_10 = np.repeat(np.arange(10), n) + 1
        lines = "".join(usps_line(int(c), rng.uniform(-1, 1, 256)) for c in labels_1_to_10)
        (root / name).write_bytes(bz2.compress(lines.encode()))


def test_mnist2usps_uses_official_test_split(tmp_path):
    write_mnist_usps(tmp_path, test_gz=False)
    s = make_splits(PAIRS.get("mnist2usps"), DataContext(tmp_path))
    assert len(s.target_test) == 30 and s.target_test.x.shape[1:] == (1, 28, 28)
    assert len(s.target_train) + len(s.target_val) == 60
    assert len(s.source_train) + len(s.source_val) == 60


def test_mnist2mnistm_is_offline_and_source_and_target_digits_are_disjoint(tmp_path):
    s = make_splits(PAIRS.get("mnist2mnistm"), DataContext(tmp_path))
    src = torch.cat([s.source_train.x, s.source_val.x])
    tgt_n = len(s.target_train) + len(s.target_val) + len(s.target_test)
    assert len(src) == 2500 and tgt_n == 2500
    assert src.shape[1:] == (3, 28, 28) and s.target_test.x.shape[1:] == (3, 28, 28)
    assert (tmp_path / "mnistm").is_dir(), "MNIST-M is cached under the data root"
    # MNIST-M pixels where the digit is blank are photo, so colour channels differ.
    assert float((s.target_test.x[:, 0] - s.target_test.x[:, 1]).abs().mean()) > 0.01


def test_data_status_reports_availability(tmp_path):
    write_cifar_fixture(tmp_path)
    r = CliRunner().invoke(
        main, ["data", "status", "--data-root", str(tmp_path)], env={"COLUMNS": "500"}
    )
    assert r.exit_code == 0, r.output
    rows = {
        line.split("│")[1].strip(): line for line in r.output.splitlines() if line.count("│") >= 5
    }
    assert "packaged" in rows["mnist2digits"]
    assert "missing" in rows["cifar2stl"] and "on disk" in rows["cifar2stl"]
    assert rows["imagenet2cifar"].count("missing") == 1 and "on disk" in rows["imagenet2cifar"]
    assert (
        "missing" in rows["office31_a2w"]
        and str(tmp_path / "office31" / "amazon") in rows["office31_a2w"]
    )


def test_data_prepare_of_manual_dataset_is_exit_2(tmp_path):
    r = CliRunner().invoke(main, ["data", "prepare", "office31_a2w", "--data-root", str(tmp_path)])
    assert (
        r.exit_code == 2 and "office31/amazon" in r.output and "no automatic download" in r.output
    )


def write_folder_domain(root: Path, classes: list[str], n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    for c in classes:
        (root / c).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)).save(
                root / c / f"{i}.png"
            )


def test_user_defined_pair_runs_end_to_end_and_checks_classes(tmp_path, results_dir):
    write_folder_domain(tmp_path / "photos", ["cat", "dog"], 10, 0)
    write_folder_domain(tmp_path / "sketch", ["dog", "kitty"], 10, 1)
    spec = tmp_path / "pair.yaml"
    spec.write_text(
        "name: photos2sketch\nsource: photos\ntarget: sketch\nclasses: [cat, dog]\n"
        "class_map:\n  target: {kitty: cat}\nimage_size: 28\nbackbone: dann_digits\n"
    )
    args = [
        "run",
        "-m",
        "source_only",
        "-p",
        str(spec),
        "--data-root",
        str(tmp_path),
        "--results",
        str(results_dir),
        "--steps",
        "4",
        "--set",
        "train.eval_every=2",
        "--set",
        "train.batch_size=4",
    ]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert "source_only on photos2sketch" in r.output
    spec.write_text(
        spec.read_text()
        .replace("class_map:\n  target: {kitty: cat}\n", "")
        .replace("photos2sketch", "photos2sketch_b")
    )
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2 and "missing: cat" in r.output and "unexpected: kitty" in r.output


@pytest.mark.parametrize(
    "text,message",
    [
        ("name: a2b\nsource: x\ntarget: y\nclasses: [a]\ncolour: red\n", "unknown key 'colour'"),
        ("name: a2b\nsource: x\nclasses: [a]\n", "missing key 'target'"),
        ("name: AB\nsource: x\ntarget: y\nclasses: [a]\n", "must be lower snake case"),
        # No classes: they come from the folders, which must be there.
        ("name: a2b\nsource: x\ntarget: y\n", "cannot take the classes from the folders"),
        ("name: a2b\nsource: x\ntarget: y\nclasses: [a, a]\n", "distinct"),
    ],
)
def test_bad_user_pair_files_are_exit_2(tmp_path, results_dir, text, message):
    spec = tmp_path / "p.yaml"
    spec.write_text(text)
    r = CliRunner().invoke(
        main, ["run", "-m", "source_only", "-p", str(spec), "--results", str(results_dir)]
    )
    assert r.exit_code == 2 and message in r.output, r.output


def test_prepare_verifies_published_checksums(tmp_path, monkeypatch):
    """Files put in place by hand are checked against torchvision's md5 sums."""
    from dabench.data.sources.checksums import known_md5, verify_present

    sums = known_md5()
    assert (
        sums["usps.bz2"]
        and sums["cifar-10-batches-py/data_batch_1"]
        and sums["svhn/train_32x32.mat"]
    )
    write_mnist_usps(tmp_path, test_gz=True)
    r = CliRunner().invoke(main, ["data", "prepare", "mnist2usps", "--data-root", str(tmp_path)])
    assert r.exit_code == 2, r.output
    line = r.output.strip()
    assert (
        line.startswith("Error: checksum mismatch")
        and "usps.bz2 (md5" in line
        and "MNIST/raw/train-images-idx3-ubyte.gz" in line
    )
    # A file whose md5 matches passes: make the expected sum that of our file.
    from dabench.data.sources import checksums

    fake = {"usps.bz2": hashlib.md5((tmp_path / "usps.bz2").read_bytes()).hexdigest()}
    monkeypatch.setattr(checksums, "known_md5", lambda: fake)
    assert verify_present(tmp_path) == 1


def test_imagenet2fashion_maps_fashion_mnist_and_drops_shirt():
    pair = PAIRS.get("imagenet2fashion")
    assert "Shirt" not in pair.classes and len(pair.classes) == 9
    assert pair.class_map == "imagenet2fashion" and "dropped: Shirt" in pair.description


def test_fashion_target_from_idx_relabels_and_drops_shirt(tmp_path, monkeypatch):
    from dabench.data.sources import idx as idx_module

    monkeypatch.setattr(idx_module, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "no-debian")
    images, labels = labelled_images(4, 10, 28, 28, 1, 3)
    raw = tmp_path / "FashionMNIST" / "raw"
    write_idx(raw, "train", images[..., 0], labels.astype(np.uint8), gz=False)
    write_idx(raw, "test", images[..., 0], labels.astype(np.uint8), gz=True)
    s = make_splits(PAIRS.get("imagenet2fashion"), DataContext(tmp_path), need_source=False)
    assert len(s.source_train) == 0 and len(s.target_test) == 36  # 40 minus the 4 shirts
    # Original label 7 (Sneaker) becomes index 6 once Shirt (6) is dropped; pixels carry the label.
    sneaker = s.target_test.x[s.target_test.y == 6]
    assert len(sneaker) == 4 and torch.allclose(
        sneaker[:, 0, 0, 0], torch.full((4,), 7 * 20 / 255), atol=1e-6
    )
    assert s.target_test.x.shape[1:] == (3, 28, 28)


def test_source_free_method_runs_with_the_target_alone(tmp_path, results_dir, monkeypatch):
    """imagenet2* pairs: zeroshot_imagenet needs no ImageNet images; source_only does."""
    from dabench.data.sources import idx as idx_module

    monkeypatch.setattr(idx_module, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "no-debian")
    images, labels = labelled_images(4, 10, 28, 28, 1, 3)
    raw = tmp_path / "FashionMNIST" / "raw"
    write_idx(raw, "train", images[..., 0], labels.astype(np.uint8), gz=False)
    write_idx(raw, "test", images[..., 0], labels.astype(np.uint8), gz=False)
    base = ["-p", "imagenet2fashion", "--data-root", str(tmp_path), "--results", str(results_dir)]
    r = CliRunner().invoke(main, ["run", "-m", "zeroshot_imagenet", *base])
    assert r.exit_code == 0, r.output
    assert "zeroshot_imagenet on imagenet2fashion" in r.output and "step 0" in r.output
    r = CliRunner().invoke(main, ["run", "-m", "source_only", *base])
    assert r.exit_code == 2 and "imagenet/train" in r.output and "FashionMNIST" not in r.output


def test_user_pair_can_take_a_subset_of_a_larger_tree(tmp_path, results_dir):
    write_folder_domain(tmp_path / "dn" / "clipart", ["cat", "dog", "zebra"], 6, 0)
    write_folder_domain(tmp_path / "dn" / "sketch", ["cat", "dog", "yak"], 6, 1)
    spec = tmp_path / "dn.yaml"
    spec.write_text(
        "name: dn_c2s\nsource: dn/clipart\ntarget: dn/sketch\nclasses: [cat, dog]\n"
        "ignore_extra_folders: true\nimage_size: 28\nbackbone: dann_digits\n"
    )
    from dabench.data.user_pairs import register_user_pair

    pair = PAIRS.get(register_user_pair(spec))
    s = make_splits(pair, DataContext(tmp_path))
    assert len(s.source_train) + len(s.source_val) == 12
    assert set(s.target_test.targets.tolist()) <= {0, 1}


def test_visda_and_example_pair_files():
    from dabench.config import load_yaml
    from dabench.data.user_pairs import parse_user_pair
    from dabench.home import builtin_dir

    assert PAIRS.get("visda_syn2real").classes[0] == "aeroplane"
    for path in (builtin_dir("configs") / "pairs" / "examples").glob("*.yaml"):
        pair = parse_user_pair(load_yaml(path), str(path))
        assert pair.input_shape == (3, 224, 224) and len(pair.classes) >= 2
