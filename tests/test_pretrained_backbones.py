"""Pretrained backbones: shapes, offline weights, and clear errors when weights are missing."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import torch
import torchvision

from dabench.errors import DataMissingError, UserError
from dabench.models import BACKBONES, build_backbone
from dabench.models import pretrained as pt

RESNETS = {"resnet18": ("resnet18-f37072fd.pth", 512), "resnet50": ("resnet50-11ad3fa6.pth", 2048)}
INPUTS = [(1, 28, 28), (3, 32, 32)]


@pytest.fixture
def hub_dir(tmp_path, monkeypatch):
    """An empty torch hub cache; any download attempt fails the test."""
    monkeypatch.setattr(torch.hub, "_hub_dir", torch.hub._hub_dir)  # restored afterwards
    torch.hub.set_dir(str(tmp_path / "hub"))

    def no_network(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    return tmp_path / "hub"


@pytest.fixture(scope="module")
def lite0():
    return pt.build_efficientnet_lite0((3, 32, 32)).eval()


def _image(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).float() / 255.0


def test_importing_registers_the_three():
    for name in ("resnet18", "resnet50", "efficientnet_lite0"):
        assert name in BACKBONES
        assert BACKBONES.get(name).pretrained != "none"


@pytest.mark.parametrize("name", sorted(RESNETS))
def test_resnet_from_scratch_shapes(name):
    torch.manual_seed(0)
    _, features = RESNETS[name]
    for shape in INPUTS:
        bb = BACKBONES.get(name).build(shape, pretrained=False)
        assert bb.out_features == features and bb.lr_mult == 1.0 and bb.head_hidden == ()
        with torch.no_grad():
            f = bb(torch.rand(2, *shape))
        assert f.shape == (2, features) and torch.isfinite(f).all()


@pytest.mark.parametrize("name", sorted(RESNETS))
def test_resnet_pretrained_missing_weights_is_a_clear_error(name, hub_dir):
    filename, _ = RESNETS[name]
    with pytest.raises(DataMissingError) as err:
        BACKBONES.get(name).build((3, 32, 32))
    msg = str(err.value)
    assert filename in msg and str(hub_dir / "checkpoints") in msg
    assert "backbone_pretrained=false" in msg and "\n" not in msg
    with pytest.raises(DataMissingError, match=filename):
        build_backbone(name, (1, 28, 28))  # the path `dabench run` takes


def test_resnet_pretrained_loads_from_hub_cache(hub_dir):
    torch.manual_seed(1)
    reference = torchvision.models.resnet18(weights=None).state_dict()
    (hub_dir / "checkpoints").mkdir(parents=True)
    torch.save(reference, hub_dir / "checkpoints" / "resnet18-f37072fd.pth")
    bb = pt.build_resnet18((1, 28, 28), pretrained=True)
    assert bb.lr_mult == pt.PRETRAINED_LR_MULT == 0.1
    loaded = bb.net.state_dict()
    assert "fc.weight" not in loaded
    for key, value in loaded.items():
        assert torch.equal(value, reference[key]), key


def test_resnet_unreadable_weights_is_a_clear_error(hub_dir):
    (hub_dir / "checkpoints").mkdir(parents=True)
    (hub_dir / "checkpoints" / "resnet18-f37072fd.pth").write_bytes(b"truncated")
    with pytest.raises(DataMissingError, match="cannot read pretrained weights"):
        pt.build_resnet18((3, 32, 32))


def test_failed_download_is_a_clear_error(hub_dir, monkeypatch):
    def unreachable(*args, **kwargs):
        raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")

    monkeypatch.setattr(torch.hub, "download_url_to_file", unreachable)
    with pytest.raises(DataMissingError, match="could not download.*resnet18-f37072fd.pth"):
        pt.build_resnet18((3, 32, 32), download=True)


def test_other_channel_counts_are_a_user_error():
    with pytest.raises(UserError, match="1- or 3-channel"):
        pt.build_resnet18((4, 32, 32), pretrained=False)


def test_preprocess_grey_to_rgb_resize_and_normalise():
    prep = pt.ImagePreprocess(224, pt.IMAGENET_MEAN, pt.IMAGENET_STD)
    out = prep(torch.full((2, 1, 28, 28), 0.5))
    assert out.shape == (2, 3, 224, 224)
    expected = [(0.5 - m) / s for m, s in zip(pt.IMAGENET_MEAN, pt.IMAGENET_STD, strict=True)]
    torch.testing.assert_close(out.mean(dim=(0, 2, 3)), torch.tensor(expected))
    x = torch.rand(1, 3, 224, 224)
    lite = pt.ImagePreprocess(224, pt.LITE_MEAN, pt.LITE_STD)
    torch.testing.assert_close(lite(x), (x * 255 - 127) / 128)  # the TF-Lite scaling


def test_efficientnet_lite0_offline_features(lite0):
    assert lite0.out_features == 1280 and lite0.lr_mult == 0.1 and lite0.head_hidden == ()
    for shape in INPUTS:
        bb = build_backbone("efficientnet_lite0", shape).eval()
        with torch.no_grad():
            f = bb(torch.rand(3, *shape))
        assert f.shape == (3, bb.out_features) and torch.isfinite(f).all()
        assert float(f.std()) > 0
    # The ImageNet classifier is neither trained nor checkpointed.
    names = [n for n, _ in lite0.named_parameters()] + list(lite0.state_dict())
    assert not any("_fc" in n or "imagenet" in n for n in names)


def test_efficientnet_lite0_weights_are_imagenet(lite0):
    """A real photo of a cat is a cat (classes 281-285), an espresso is coffee."""
    with torch.no_grad():
        cat = lite0.imagenet_logits(_image(skimage.data.chelsea()))
        cup = lite0.imagenet_logits(_image(skimage.data.coffee()))
    assert cat.shape == (1, 1000)
    assert int(cat.argmax()) in range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian
    assert int(cup.argmax()) in (967, 968)  # espresso, cup
    assert float(cat.softmax(1)[0, 281:286].sum()) > 0.5


def test_efficientnet_lite0_from_scratch():
    bb = pt.build_efficientnet_lite0((1, 28, 28), pretrained=False)
    assert bb.lr_mult == 1.0 and bb.imagenet_weight is None
    with torch.no_grad():
        assert bb(torch.rand(2, 1, 28, 28)).shape == (2, bb.out_features)
    with pytest.raises(RuntimeError, match="pretrained"):
        bb.imagenet_logits(torch.rand(1, 3, 32, 32))
