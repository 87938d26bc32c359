"""Every loss against an independent NumPy reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dabench.losses import (
    coral_loss,
    domain_adversarial_loss,
    grad_reverse,
    grl_coefficient,
    prediction_entropy,
)


def np_coral(a: np.ndarray, b: np.ndarray) -> float:
    d = a.shape[1]
    ca = np.cov(a, rowvar=False, ddof=1)
    cb = np.cov(b, rowvar=False, ddof=1)
    return float(((ca - cb) ** 2).sum() / (4 * d * d))


@pytest.mark.parametrize("n_s,n_t,d", [(8, 8, 3), (16, 5, 10), (2, 40, 1)])
def test_coral_matches_numpy(n_s, n_t, d):
    rng = np.random.default_rng(n_s * 100 + d)
    a = rng.normal(size=(n_s, d))
    b = rng.normal(loc=0.5, scale=2.0, size=(n_t, d))
    got = coral_loss(torch.tensor(a), torch.tensor(b)).item()
    assert got == pytest.approx(np_coral(a, b), rel=1e-9, abs=1e-12)


def test_coral_is_zero_for_same_covariance_and_shift_invariant():
    rng = np.random.default_rng(0)
    a = torch.tensor(rng.normal(size=(30, 4)))
    assert coral_loss(a, a + 3.0).item() == pytest.approx(0.0, abs=1e-10)
    assert coral_loss(a, 2 * a).item() > 0.0


def test_coral_rejects_bad_shapes():
    with pytest.raises(ValueError):
        coral_loss(torch.zeros(4, 3), torch.zeros(4, 2))
    with pytest.raises(ValueError):
        coral_loss(torch.zeros(1, 3), torch.zeros(4, 3))


def np_bce_with_logits(z: np.ndarray, t: np.ndarray) -> float:
    p = 1.0 / (1.0 + np.exp(-z))
    return float(np.mean(-(t * np.log(p) + (1 - t) * np.log(1 - p))))


def test_domain_adversarial_loss_is_the_papers_per_domain_means():
    # Ganin et al. 2016, Eq. 9: 1/n sum_src L_d + 1/n' sum_tgt L_d, with n != n'.
    rng = np.random.default_rng(1)
    ds = rng.normal(size=7)
    dt = rng.normal(size=5)
    ref = np_bce_with_logits(ds, np.ones(7)) + np_bce_with_logits(dt, np.zeros(5))
    got = domain_adversarial_loss(torch.tensor(ds), torch.tensor(dt).view(-1, 1)).item()
    assert got == pytest.approx(ref, rel=1e-9)
    # Not one mean over the concatenated batch (what v1 of dann computed).
    pooled = np_bce_with_logits(np.concatenate([ds, dt]), np.r_[np.ones(7), np.zeros(5)])
    assert abs(got - pooled) > 0.1


def test_domain_adversarial_loss_weighs_domains_equally_whatever_their_sizes():
    # Four source logits and one target logit: each domain still counts once.
    d_src = torch.zeros(4)
    d_tgt = torch.full((1,), 3.0)
    got = domain_adversarial_loss(d_src, d_tgt).item()
    assert got == pytest.approx(math.log(2) + math.log(1 + math.exp(3.0)), rel=1e-6)
    with pytest.raises(ValueError):
        domain_adversarial_loss(torch.zeros(0), torch.zeros(3))


@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 1.0])
def test_grl_coefficient_is_the_papers_schedule(p):
    assert grl_coefficient(p) == pytest.approx(2.0 / (1.0 + math.exp(-10.0 * p)) - 1.0)


def test_grl_coefficient_endpoints_and_clamping():
    assert grl_coefficient(0.0) == 0.0
    assert grl_coefficient(1.0) == pytest.approx(0.9999092, abs=1e-6)
    assert grl_coefficient(2.0) == grl_coefficient(1.0)


def test_grad_reverse_identity_forward_negated_scaled_backward():
    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 3, dtype=torch.float64)
    y = grad_reverse(x, 0.3)
    assert torch.equal(y, x)
    (y * w).sum().backward()
    assert torch.allclose(x.grad, -0.3 * w)


def test_prediction_entropy_matches_numpy():
    rng = np.random.default_rng(2)
    z = rng.normal(size=(6, 4))
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    ref = float(np.mean(-(p * np.log(p)).sum(1)))
    assert prediction_entropy(torch.tensor(z)).item() == pytest.approx(ref, rel=1e-9)
