"""Heads without SGD: the zero-shot ImageNet label-mapping head."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner

from dabench.cli import main
from dabench.data import PAIRS
from dabench.data.base import TensorImageDataset
from dabench.data.pairs import PairSplits
from dabench.errors import UserError
from dabench.methods import METHODS, TargetAccess
from dabench.methods.zeroshot import imagenet_wnids
from dabench.models import build_backbone
from dabench.train import train


@pytest.fixture(scope="module")
def head():
    pair = PAIRS.get("imagenet2cifar")
    backbone = build_backbone("efficientnet_lite0", pair.input_shape, pretrained=True)
    return METHODS.get("zeroshot_imagenet")(backbone, len(pair.classes), {}, 1, pair=pair)


def test_declares_no_source_images_and_no_target_labels():
    cls = METHODS.get("zeroshot_imagenet")
    assert cls.needs_source_images is False and cls.trainable is False
    assert cls.target_access == TargetAccess.NONE


def test_wnid_file_is_imagenet_order():
    wnids = imagenet_wnids()
    assert wnids[0] == "n01440764" and wnids[281] == "n02123045"  # tench, tabby cat


def test_predicts_a_distribution_over_the_pair_classes(head):
    logits = head.predict(torch.rand(3, 3, 32, 32))
    assert logits.shape == (3, 9)
    # Mapped mass is part of the ImageNet softmax: positive, at most 1.
    mass = logits.exp().sum(1)
    assert (mass > 0).all() and (mass <= 1.0 + 1e-5).all()


def test_a_real_cat_photo_is_a_cat(head):
    from skimage import data

    img = torch.from_numpy(data.chelsea()).permute(2, 0, 1).float().div(255).unsqueeze(0)
    # At full resolution the mapping itself is under test (at 32 px, CIFAR's
    # size, the ImageNet classifier is far less sure; that is what the
    # benchmark measures).
    img = F.interpolate(img, size=(224, 224), mode="bilinear", antialias=True, align_corners=False)
    pred = head.predict(img).argmax(1).item()
    assert PAIRS.get("imagenet2cifar").classes[pred] == "cat"


def test_runs_through_the_trainer_without_source_data(head):
    from dabench.config import build_config

    x = torch.rand(6, 3, 32, 32)
    tgt = TensorImageDataset(x, torch.arange(6) % 9, list(PAIRS.get("imagenet2cifar").classes))
    empty = tgt.subset(torch.zeros(0, dtype=torch.long))
    splits = PairSplits(empty, empty, tgt, tgt, tgt)
    cfg = build_config("zeroshot_imagenet", "imagenet2cifar")
    result = train(head, splits, cfg, torch.device("cpu"))
    assert result.steps_run == 0
    expected = (head.predict(x).argmax(1) == tgt.y).float().mean().item()
    assert result.selections["source_val"].target_test_acc == pytest.approx(expected)


def test_needs_an_imagenet_head_and_a_class_map():
    with pytest.raises(UserError, match="efficientnet_lite0"):
        METHODS.get("zeroshot_imagenet")(
            build_backbone("dann_digits", (3, 32, 32)), 9, {}, 1, pair=PAIRS.get("imagenet2cifar")
        )


def test_zeroshot_on_a_pair_without_class_map_is_exit_2(results_dir):
    r = CliRunner().invoke(
        main,
        [
            "run",
            "-m",
            "zeroshot_imagenet",
            "-p",
            "mnist2digits",
            "--set",
            "backbone=efficientnet_lite0",
            "--results",
            str(results_dir),
        ],
    )
    assert r.exit_code == 2 and "has none" in r.output, r.output


def test_head_is_always_in_eval_mode(head):
    head.train()
    assert not head.training and not head.backbone.training
