"""CDAN, MCD and MDD losses against NumPy references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dabench.losses import domain_adversarial_loss
from dabench.losses.conditional import (
    RandomizedDotProduct,
    entropy_weights,
    multilinear_map,
    weighted_domain_loss,
)
from dabench.losses.discrepancy import (
    classifier_discrepancy,
    log_one_minus_softmax,
    margin_disparity_discrepancy,
)


def np_softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def np_bce(z: np.ndarray, t: float) -> np.ndarray:
    p = 1.0 / (1.0 + np.exp(-z))
    return -(t * np.log(p) + (1 - t) * np.log(1 - p))


def test_multilinear_map_is_the_flattened_outer_product():
    rng = np.random.default_rng(0)
    f, g = rng.normal(size=(4, 3)), np_softmax(rng.normal(size=(4, 5)))
    got = multilinear_map(torch.tensor(f), torch.tensor(g)).numpy()
    ref = np.stack([np.outer(g[i], f[i]).ravel() for i in range(4)])
    assert got.shape == (4, 15)
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    with pytest.raises(ValueError):
        multilinear_map(torch.zeros(4, 3), torch.zeros(3, 5))


def test_randomized_map_is_the_papers_eq5():
    # (R_f f) * (R_g g) / sqrt(d_out), R sampled once (CDAN Eq. 5).
    torch.manual_seed(0)
    layer = RandomizedDotProduct([6, 4], 64).double()
    rng = np.random.default_rng(1)
    f, g = rng.normal(size=(5, 6)), np_softmax(rng.normal(size=(5, 4)))
    rf, rg = layer.rand_mat0.numpy(), layer.rand_mat1.numpy()
    ref = (f @ rf) * (g @ rg) / math.sqrt(64)
    got = layer(torch.tensor(f), torch.tensor(g)).numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-10)
    # Fixed in training: the same input gives the same output twice.
    np.testing.assert_array_equal(got, layer(torch.tensor(f), torch.tensor(g)).numpy())


def test_entropy_weights_are_one_plus_exp_minus_entropy_normalised():
    rng = np.random.default_rng(2)
    z = rng.normal(scale=3.0, size=(6, 4))
    p = np_softmax(z)
    h = -(p * np.log(p)).sum(1)
    w = 1 + np.exp(-h)
    got = entropy_weights(torch.tensor(z, requires_grad=True))
    assert not got.requires_grad
    np.testing.assert_allclose(got.numpy(), w / w.sum(), rtol=1e-9)
    # The most confident row weighs most.
    assert int(got.argmax()) == int(h.argmin())


def test_weighted_domain_loss_matches_numpy_and_reduces_to_danns():
    rng = np.random.default_rng(3)
    ds, dt = rng.normal(size=7), rng.normal(size=5)
    ws, wt = rng.uniform(size=7), rng.uniform(size=5)
    ws, wt = ws / ws.sum(), wt / wt.sum()
    ref = (ws * np_bce(ds, 1.0)).sum() + (wt * np_bce(dt, 0.0)).sum()
    got = weighted_domain_loss(
        torch.tensor(ds), torch.tensor(dt), torch.tensor(ws), torch.tensor(wt)
    ).item()
    assert got == pytest.approx(ref, rel=1e-9)
    uniform = weighted_domain_loss(torch.tensor(ds), torch.tensor(dt)).item()
    assert uniform == pytest.approx(
        domain_adversarial_loss(torch.tensor(ds), torch.tensor(dt)).item(), rel=1e-12
    )
    assert abs(got - uniform) > 1e-3


def test_classifier_discrepancy_is_mcd_eq1():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(8, 5)), rng.normal(size=(8, 5))
    ref = np.mean(np.abs(np_softmax(a) - np_softmax(b)).sum(1) / 5)
    assert classifier_discrepancy(torch.tensor(a), torch.tensor(b)).item() == pytest.approx(
        ref, rel=1e-9
    )
    assert classifier_discrepancy(torch.tensor(a), torch.tensor(a)).item() == 0.0


def test_log_one_minus_softmax_is_exact_and_stable():
    z = torch.tensor([[0.0, 1.0, 2.0], [50.0, 0.0, 0.0]], dtype=torch.float64)
    idx = torch.tensor([2, 0])
    got = log_one_minus_softmax(z, idx)
    p = np_softmax(z.numpy())
    assert got[0].item() == pytest.approx(math.log(1 - p[0, 2]), rel=1e-12)
    # 1 - p underflows to 0 in float32 here; the logsumexp form stays finite.
    assert got[1].item() == pytest.approx(math.log(2.0) - 50.0, rel=1e-9)
    assert torch.isfinite(log_one_minus_softmax(z.float(), idx)).all()


def test_margin_disparity_discrepancy_matches_the_papers_objective():
    rng = np.random.default_rng(5)
    ys, ysa = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    yt, yta = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    gamma = 3.0
    hs, ht = ys.argmax(1), yt.argmax(1)
    src_ce = -np.log(np_softmax(ysa)[np.arange(6), hs]).mean()
    tgt = np.log(1 - np_softmax(yta)[np.arange(5), ht]).mean()
    ref = tgt - gamma * src_ce
    t = [torch.tensor(a, requires_grad=True) for a in (ys, ysa, yt, yta)]
    got = margin_disparity_discrepancy(*t, margin=gamma)
    assert got.item() == pytest.approx(ref, rel=1e-9)
    got.backward()
    # No gradient through the main head's argmax; the adversary gets all of it.
    assert t[0].grad is None and t[2].grad is None
    assert t[1].grad.abs().sum() > 0 and t[3].grad.abs().sum() > 0


def test_mdd_adversary_ascent_agrees_on_source_and_disagrees_on_target():
    # A gradient-ascent step on D_gamma moves the adversary towards h_f on source
    # and away from it on target: the max over f' the paper writes.
    rng = np.random.default_rng(6)
    ys, yt = torch.tensor(rng.normal(size=(6, 4))), torch.tensor(rng.normal(size=(6, 4)))
    ysa = torch.tensor(rng.normal(size=(6, 4)), requires_grad=True)
    yta = torch.tensor(rng.normal(size=(6, 4)), requires_grad=True)
    margin_disparity_discrepancy(ys, ysa, yt, yta).backward()
    with torch.no_grad():
        ps0 = torch.softmax(ysa, 1)[range(6), ys.argmax(1)]
        pt0 = torch.softmax(yta, 1)[range(6), yt.argmax(1)]
        ps1 = torch.softmax(ysa + 0.1 * ysa.grad, 1)[range(6), ys.argmax(1)]
        pt1 = torch.softmax(yta + 0.1 * yta.grad, 1)[range(6), yt.argmax(1)]
    assert (ps1 > ps0).all() and (pt1 < pt0).all()
