"""Lazy file-backed loaders (ImageFolder, Office-31, Office-Home, ImageNet) on
tiny trees of real PNG and JPEG files written with PIL."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dabench.data.base import dataset_targets
from dabench.data.pairs import DataContext
from dabench.data.sources import (
    OFFICE31_CLASSES,
    OFFICEHOME_CLASSES,
    DataCorruptError,
    ImageFileDataset,
    load_image_folder,
    load_imagenet_subset,
    load_office31,
    load_officehome,
)
from dabench.errors import DataMissingError, UserError


def ctx(root: Path) -> DataContext:
    return DataContext(root, download=False)


def write_image(path: Path, color, size=(6, 4), mode: str = "RGB") -> None:
    """A solid ``color`` image (width x height ``size``); format from the suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color).save(path)


def check_lazy(ds, labels: list[int], shape: tuple[int, int, int], atol: float = 0.0):
    """Contract of a lazy dataset; returns the decoded images."""
    assert isinstance(ds, ImageFileDataset)
    assert len(ds) == len(labels)
    assert dataset_targets(ds).tolist() == labels
    images = []
    for i, label in enumerate(labels):
        image, y = ds[i]
        assert isinstance(y, int) and y == label
        assert image.dtype == torch.float32 and tuple(image.shape) == shape
        assert float(image.min()) >= 0.0 and float(image.max()) <= 1.0
        images.append(image)
    return images


# ---------------------------------------------------------------- ImageFolder


def test_image_folder_png_and_jpeg(tmp_path):
    domain = tmp_path / "domain"
    write_image(domain / "cat" / "b.png", (255, 0, 0))
    write_image(domain / "cat" / "a.PNG", (0, 255, 0))
    write_image(domain / "dog" / "x.jpg", (0, 0, 255))
    write_image(domain / "dog" / "nested" / "y.jpeg", (200, 200, 200))
    write_image(domain / "ant" / "z.bmp", (10, 20, 30))
    (domain / "dog" / "notes.txt").write_text("not an image")
    (domain / "dog" / ".DS_Store").write_bytes(b"\x00")
    (domain / ".hidden_class").mkdir()

    ds = load_image_folder(domain)
    assert ds.classes == ["ant", "cat", "dog"]
    assert [p.name for p in ds.paths] == ["z.bmp", "a.PNG", "b.png", "y.jpeg", "x.jpg"]
    images = check_lazy(ds, [0, 1, 1, 2, 2], (3, 4, 6))
    # PNG and BMP are lossless: exact values. JPEG: a solid colour survives within a few levels.
    torch.testing.assert_close(images[0][:, 0, 0], torch.tensor([10, 20, 30]) / 255.0)
    torch.testing.assert_close(
        images[1], torch.tensor([0.0, 1.0, 0.0]).view(3, 1, 1).expand(3, 4, 6)
    )
    torch.testing.assert_close(images[2][:, 2, 3], torch.tensor([1.0, 0.0, 0.0]))
    torch.testing.assert_close(
        images[4].mean(dim=(1, 2)), torch.tensor([0.0, 0.0, 1.0]), atol=0.02, rtol=0
    )
    torch.testing.assert_close(
        images[3].mean(dim=(1, 2)), torch.full((3,), 200 / 255), atol=0.02, rtol=0
    )


def test_image_folder_resize_and_channels(tmp_path):
    domain = tmp_path / "d"
    write_image(domain / "a" / "rgb.png", (100, 150, 200), size=(10, 7))
    write_image(domain / "b" / "grey.png", 77, size=(5, 5), mode="L")
    write_image(domain / "b" / "palette.png", 3, size=(5, 5), mode="P")

    native = load_image_folder(domain)
    assert native[0][0].shape == (3, 7, 10)
    assert native[1][0].shape == (1, 5, 5)  # grey stays grey when channels is None
    assert native[2][0].shape == (3, 5, 5)  # palette becomes RGB

    grey = load_image_folder(domain, size=8, channels=1)
    images = check_lazy(grey, [0, 1, 1], (1, 8, 8))
    luma = (0.299 * 100 + 0.587 * 150 + 0.114 * 200) / 255
    torch.testing.assert_close(images[0], torch.full((1, 8, 8), luma), atol=1 / 255, rtol=0)
    torch.testing.assert_close(images[1], torch.full((1, 8, 8), 77 / 255))

    rgb = load_image_folder(domain, size=16, channels=3)
    images = check_lazy(rgb, [0, 1, 1], (3, 16, 16))
    torch.testing.assert_close(images[1], torch.full((3, 16, 16), 77 / 255))


def test_image_folder_class_mismatch_names_classes(tmp_path):
    domain = tmp_path / "d"
    for name in ("bike", "mug", "stapler_extra"):
        write_image(domain / name / "0.png", (1, 2, 3))
    with pytest.raises(DataMissingError) as err:
        load_image_folder(domain, classes=["bike", "mug", "pen", "ruler"])
    message = str(err.value)
    assert "missing class folders pen, ruler" in message
    assert "unexpected class folders stapler_extra" in message
    assert str(domain) in message and "\n" not in message

    with pytest.raises(UserError, match="unexpected class folders stapler_extra"):
        load_image_folder(domain, classes=["bike", "mug"])

    ds = load_image_folder(domain, classes=["stapler_extra", "mug", "bike"])
    assert ds.classes == ["stapler_extra", "mug", "bike"]  # labels follow the given order
    assert [p.parent.name for p in ds.paths] == ["stapler_extra", "mug", "bike"]
    assert ds.targets.tolist() == [0, 1, 2]


def test_image_folder_missing_and_empty(tmp_path):
    with pytest.raises(DataMissingError, match=re.escape(str(tmp_path / "nowhere"))):
        load_image_folder(tmp_path / "nowhere")
    (tmp_path / "d" / "empty").mkdir(parents=True)
    write_image(tmp_path / "d" / "full" / "0.png", (0, 0, 0))
    with pytest.raises(DataMissingError, match="class folders empty"):
        load_image_folder(tmp_path / "d")


def test_targets_need_no_decoding(tmp_path):
    write_image(tmp_path / "d" / "a" / "0.png", (0, 0, 0))
    write_image(tmp_path / "d" / "b" / "1.png", (0, 0, 0))
    ds = load_image_folder(tmp_path / "d")
    for p in ds.paths:
        p.write_bytes(b"no longer an image")
    assert dataset_targets(ds).tolist() == [0, 1]
    with pytest.raises(DataCorruptError, match="0.png"):
        ds[0]


# ---------------------------------------------------------------- Office-31, Office-Home


@pytest.mark.parametrize("with_images_level", [True, False])
def test_office31_layouts(tmp_path, with_images_level):
    base = tmp_path / "office31" / "webcam"
    if with_images_level:
        base = base / "images"
    for k, name in enumerate(OFFICE31_CLASSES):
        write_image(base / name / "frame_0001.jpg", (k, k, k), size=(3, 3))
    write_image(base / "mug" / "frame_0002.jpg", (5, 5, 5), size=(3, 3))
    ds = load_office31(ctx(tmp_path), "webcam", size=5)
    assert len(OFFICE31_CLASSES) == 31 and list(OFFICE31_CLASSES) == sorted(OFFICE31_CLASSES)
    assert ds.classes == list(OFFICE31_CLASSES)
    mug = OFFICE31_CLASSES.index("mug")
    labels = sorted(list(range(31)) + [mug])
    check_lazy(ds, labels, (3, 5, 5))
    assert ds.paths[mug + 1].parent.name == "mug"


def test_office31_missing_domain_and_class(tmp_path):
    with pytest.raises(DataMissingError) as err:
        load_office31(ctx(tmp_path), "amazon")
    message = str(err.value)
    assert "office31/amazon/images/<class>/*.jpg" in message and str(tmp_path) in message
    with pytest.raises(UserError, match="expected one of amazon, dslr, webcam"):
        load_office31(ctx(tmp_path), "Amazon")
    for name in OFFICE31_CLASSES[1:]:
        write_image(tmp_path / "office31" / "dslr" / "images" / name / "0.jpg", (0, 0, 0))
    with pytest.raises(DataMissingError, match="missing class folders back_pack"):
        load_office31(ctx(tmp_path), "dslr")


@pytest.mark.parametrize("folder", ["Real_World", "Real World"])
def test_officehome_real_world(tmp_path, folder):
    for k, name in enumerate(OFFICEHOME_CLASSES):
        write_image(tmp_path / "officehome" / folder / name / "00001.jpg", (k, 0, 0), size=(2, 2))
    ds = load_officehome(ctx(tmp_path), "Real_World", size=4, channels=1)
    assert len(OFFICEHOME_CLASSES) == 65 and list(OFFICEHOME_CLASSES) == sorted(OFFICEHOME_CLASSES)
    assert ds.classes == list(OFFICEHOME_CLASSES)
    check_lazy(ds, list(range(65)), (1, 4, 4))
    with pytest.raises(DataMissingError, match="officehome/Art/<class>"):
        load_officehome(ctx(tmp_path), "Art")


# ---------------------------------------------------------------- ImageNet

WNIDS = {"n01530575": (255, 0, 0), "n01531178": (0, 255, 0), "n02123045": (0, 0, 255)}
SUBSET = {"n01530575": 0, "n01531178": 0, "n02123045": 1}  # two finch synsets -> "bird"
CLASSES = ["bird", "cat"]


def write_imagenet_train(root: Path) -> None:
    for wnid, color in WNIDS.items():
        for j in range(2):
            write_image(root / "imagenet" / "train" / wnid / f"{wnid}_{j}.JPEG", color, (8, 6))
    write_image(root / "imagenet" / "train" / "n09999999" / "n09999999_0.JPEG", (9, 9, 9))


def test_imagenet_train_subset(tmp_path):
    write_imagenet_train(tmp_path)
    ds = load_imagenet_subset(ctx(tmp_path), "train", SUBSET, CLASSES, size=4)
    assert ds.classes == CLASSES
    images = check_lazy(ds, [0, 0, 0, 0, 1, 1], (3, 4, 4))
    assert [p.parent.name for p in ds.paths] == ["n01530575"] * 2 + ["n01531178"] * 2 + [
        "n02123045"
    ] * 2
    torch.testing.assert_close(
        images[5].mean(dim=(1, 2)), torch.tensor([0.0, 0.0, 1.0]), atol=0.02, rtol=0
    )
    only_cats = load_imagenet_subset(ctx(tmp_path), "train", {"n02123045": 1}, CLASSES)
    assert only_cats.targets.tolist() == [1, 1]


def test_imagenet_missing_synset_and_split(tmp_path):
    write_imagenet_train(tmp_path)
    mapping = {**SUBSET, "n07777777": 1}
    with pytest.raises(DataMissingError) as err:
        load_imagenet_subset(ctx(tmp_path), "train", mapping, CLASSES)
    message = str(err.value)
    assert "imagenet/train/n07777777/" in message and str(tmp_path) in message
    assert "n01530575" not in message and "\n" not in message
    with pytest.raises(DataMissingError) as err:
        load_imagenet_subset(ctx(tmp_path), "val", SUBSET, CLASSES)
    assert "imagenet/val/" in str(err.value) and str(tmp_path / "imagenet" / "val") in str(
        err.value
    )
    with pytest.raises(UserError, match="n02123045"):
        load_imagenet_subset(ctx(tmp_path), "train", {"n02123045": 2}, CLASSES)


def test_imagenet_val_reorganised(tmp_path):
    for wnid, color in WNIDS.items():
        write_image(tmp_path / "imagenet" / "val" / wnid / f"ILSVRC2012_val_{wnid}.JPEG", color)
    ds = load_imagenet_subset(ctx(tmp_path), "val", SUBSET, CLASSES, channels=1)
    check_lazy(ds, [0, 0, 1], (1, 4, 6))


VAL_ROWS = [
    ("ILSVRC2012_val_00000003", "n02123045 1 2 30 40"),
    ("ILSVRC2012_val_00000001", "n01530575 10 12 60 70 n01530575 0 0 5 5"),
    ("ILSVRC2012_val_00000002", "n09999999 1 1 2 2"),
    ("ILSVRC2012_val_00000004", "n01531178 3 3 9 9"),
]


def write_flat_val(root: Path, csv_in_val: bool = False, skip: str = "") -> None:
    val = root / "imagenet" / "val"
    colors = {"n02123045": (0, 0, 255), "n01530575": (255, 0, 0)}
    for image_id, prediction in VAL_ROWS:
        if image_id != skip:
            write_image(val / f"{image_id}.JPEG", colors.get(prediction.split()[0], (9, 9, 9)))
    lines = ["ImageId,PredictionString"] + [f"{i},{p}" for i, p in VAL_ROWS]
    csv_dir = val if csv_in_val else root / "imagenet"
    (csv_dir / "LOC_val_solution.csv").write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("csv_in_val", [False, True])
def test_imagenet_val_flat_with_solution_csv(tmp_path, csv_in_val):
    write_flat_val(tmp_path, csv_in_val)
    ds = load_imagenet_subset(ctx(tmp_path), "val", SUBSET, CLASSES, size=3)
    # Ordered by wnid: n01530575 (bird), n01531178 (bird), n02123045 (cat); n09999999 left out.
    assert [p.name for p in ds.paths] == [
        "ILSVRC2012_val_00000001.JPEG",
        "ILSVRC2012_val_00000004.JPEG",
        "ILSVRC2012_val_00000003.JPEG",
    ]
    images = check_lazy(ds, [0, 0, 1], (3, 3, 3))
    torch.testing.assert_close(
        images[0].mean(dim=(1, 2)), torch.tensor([1.0, 0.0, 0.0]), atol=0.02, rtol=0
    )
    torch.testing.assert_close(
        images[2].mean(dim=(1, 2)), torch.tensor([0.0, 0.0, 1.0]), atol=0.02, rtol=0
    )


def test_imagenet_val_flat_missing_pieces(tmp_path):
    write_flat_val(tmp_path, skip="ILSVRC2012_val_00000004")
    with pytest.raises(DataMissingError, match="imagenet/val/ILSVRC2012_val_00000004.JPEG"):
        load_imagenet_subset(ctx(tmp_path), "val", SUBSET, CLASSES)
    (tmp_path / "imagenet" / "LOC_val_solution.csv").unlink()
    with pytest.raises(DataMissingError) as err:
        load_imagenet_subset(ctx(tmp_path), "val", SUBSET, CLASSES)
    assert "imagenet/LOC_val_solution.csv" in str(err.value) and str(tmp_path) in str(err.value)
    (tmp_path / "imagenet" / "LOC_val_solution.csv").write_text("id,label\nx,y\n")
    with pytest.raises(DataCorruptError, match="ImageId,PredictionString"):
        load_imagenet_subset(ctx(tmp_path), "val", SUBSET, CLASSES)


def test_pil_images_round_trip_exactly(tmp_path):
    """Guards the fixture helper itself: PNG pixels come back as written."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    path = tmp_path / "d" / "c" / "p.png"
    path.parent.mkdir(parents=True)
    Image.fromarray(pixels).save(path)
    image, _ = load_image_folder(tmp_path / "d")[0]
    np.testing.assert_array_equal((image * 255).round().byte().permute(1, 2, 0).numpy(), pixels)
