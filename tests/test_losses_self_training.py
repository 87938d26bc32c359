"""Self-training losses against NumPy references, and the in-batch augmentations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dabench.data.augment import cutout, strong_augment, weak_augment
from dabench.losses.self_training import pseudo_label_loss, ramp_weight


def np_pseudo_label(label_logits, train_logits, tau):
    p = np.exp(label_logits - label_logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    conf, y = p.max(1), p.argmax(1)
    z = train_logits - train_logits.max(1, keepdims=True)
    logq = z - np.log(np.exp(z).sum(1, keepdims=True))
    ce = -logq[np.arange(len(y)), y]
    return float((ce * (conf >= tau)).sum() / len(y)), conf >= tau


@pytest.mark.parametrize("tau", [0.0, 0.5, 0.9, 1.01])
def test_pseudo_label_loss_matches_numpy(tau):
    g = torch.Generator().manual_seed(0)
    a = torch.randn(16, 5, generator=g) * 3
    b = torch.randn(16, 5, generator=g)
    loss, mask = pseudo_label_loss(a, b, tau)
    ref, ref_mask = np_pseudo_label(a.double().numpy(), b.double().numpy(), tau)
    assert loss.item() == pytest.approx(ref, rel=1e-5, abs=1e-7)
    assert mask.numpy().tolist() == ref_mask.tolist()


def test_pseudo_labels_carry_no_gradient():
    a = torch.randn(8, 3, requires_grad=True)
    b = torch.randn(8, 3, requires_grad=True)
    pseudo_label_loss(a, b, 0.0)[0].backward()
    assert a.grad is None and b.grad is not None and b.grad.abs().sum() > 0
    # Lee (2013): the same logits label and train; the gradient flows through the CE only.
    c = torch.randn(8, 3, requires_grad=True)
    pseudo_label_loss(c, c, 0.0)[0].backward()
    assert c.grad is not None


def test_ramp_is_lees_piecewise_linear_schedule():
    assert ramp_weight(0.05, 0.1, 0.6, 3.0) == 0.0
    assert ramp_weight(0.1, 0.1, 0.6, 3.0) == 0.0
    assert ramp_weight(0.35, 0.1, 0.6, 3.0) == pytest.approx(1.5)
    assert ramp_weight(0.6, 0.1, 0.6, 3.0) == 3.0
    assert ramp_weight(1.0, 0.1, 0.6, 3.0) == 3.0
    assert ramp_weight(0.0, 0.0, 0.0, 2.0) == 2.0


def test_weak_augment_translates_each_sample_by_whole_pixels():
    torch.manual_seed(0)
    x = torch.zeros(64, 1, 28, 28)
    x[:, :, 14, 14] = 1.0  # one lit pixel per image, away from the border
    y = weak_augment(x, translate=0.125)
    assert y.shape == x.shape
    assert torch.equal(y.sum((1, 2, 3)), torch.ones(64)), "a shift moves the pixel, never blurs it"
    pos = y[:, 0].flatten(1).argmax(1)
    dy, dx = pos // 28 - 14, pos % 28 - 14
    assert dy.abs().max() <= 3 and dx.abs().max() <= 3  # 12.5% of 28 = 3.5 -> 3 pixels
    assert len(set(zip(dy.tolist(), dx.tolist(), strict=True))) > 5, "shifts are drawn per sample"
    assert torch.equal(weak_augment(x, translate=0.0), x)


def test_flip_is_an_option_and_per_sample():
    torch.manual_seed(0)
    x = torch.zeros(32, 3, 8, 8)
    x[..., 0] = 1.0  # left column lit
    assert torch.equal(weak_augment(x, translate=0.0, flip=False), x)
    y = weak_augment(x, translate=0.0, flip=True)
    flipped = y[:, 0, 0, -1] == 1.0
    assert 0 < int(flipped.sum()) < 32
    assert torch.equal(y[flipped], x[flipped].flip(3)) and torch.equal(y[~flipped], x[~flipped])


@pytest.mark.parametrize("channels", [1, 3])
def test_strong_augment_keeps_shape_and_range_and_changes_images(channels):
    torch.manual_seed(0)
    x = torch.rand(16, channels, 28, 28)
    y = strong_augment(x)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0
    assert all(not torch.equal(a, b) for a, b in zip(x, y, strict=True))


def test_cutout_zeroes_a_square_per_sample():
    torch.manual_seed(0)
    y = cutout(torch.ones(20, 1, 28, 28), fraction=0.5)
    zeros = (y == 0).flatten(1).sum(1)
    # A 14-px square, clipped at the border.
    assert int(zeros.max()) == 14 * 14 and int(zeros.min()) > 0
    assert len(set(zeros.tolist())) > 1, "positions are drawn per sample"
