"""Output and feature regularisers against NumPy references written from the papers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dabench.losses.regularizers import (
    afn_loss,
    bnm_loss,
    bsp_loss,
    diversity_loss,
    entropy_loss,
    information_maximization_loss,
    mcc_loss,
)


def np_softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def np_mcc(z: np.ndarray, t: float) -> float:
    """Jin et al. 2020, Eq. 1-7, loop by loop."""
    n, c = z.shape
    y = np_softmax(z / t)
    h = -(y * np.log(y + 1e-5)).sum(1)
    w = 1 + np.exp(-h)
    w = n * w / w.sum()
    conf = np.zeros((c, c))
    for j in range(c):
        for k in range(c):
            conf[j, k] = sum(y[i, j] * w[i] * y[i, k] for i in range(n))
    conf = conf / conf.sum(1, keepdims=True)  # the paper's row normalisation
    return float((conf.sum() - np.trace(conf)) / c)


def tensors(seed: int, n: int, c: int) -> tuple[np.ndarray, torch.Tensor]:
    z = np.random.default_rng(seed).normal(size=(n, c)) * 3
    return z, torch.tensor(z, requires_grad=True)


@pytest.mark.parametrize("n,c,t", [(8, 3, 2.5), (32, 10, 1.0), (5, 12, 4.0)])
def test_mcc_matches_numpy(n, c, t):
    z, zt = tensors(n + c, n, c)
    got = mcc_loss(zt, t)
    # pytorch-adapt's entropy adds no epsilon inside the log; the reference's
    # 1e-5 moves the weights by far less than the tolerance.
    assert got.item() == pytest.approx(np_mcc(z, t), rel=1e-4, abs=1e-6)
    got.backward()
    assert torch.isfinite(zt.grad).all()


def test_mcc_is_zero_without_confusion_and_large_with_it():
    confident = torch.eye(4) * 50
    assert mcc_loss(confident, 1.0).item() == pytest.approx(0.0, abs=1e-6)
    assert mcc_loss(torch.zeros(4, 4), 1.0).item() == pytest.approx(0.75, abs=1e-6)


@pytest.mark.parametrize("n,c", [(8, 3), (16, 10), (3, 7)])
def test_bnm_matches_numpy(n, c):
    z, zt = tensors(n * c, n, c)
    ref = -np.linalg.svd(np_softmax(z), compute_uv=False).sum() / n
    assert bnm_loss(zt).item() == pytest.approx(ref, rel=1e-6)


def test_afn_gradient_pushes_norms_up_by_delta_r():
    f = torch.tensor([[3.0, 4.0], [0.0, 1.0]], requires_grad=True)
    loss = afn_loss(f, delta_r=2.0)
    assert loss.item() == pytest.approx(4.0)  # (||h|| - (||h|| + dr))^2 = dr^2
    loss.backward()
    # d/dh mean_i (||h_i|| - c_i)^2 = (2/n)(||h_i|| - c_i) h_i/||h_i|| = -(2 dr / n) h_i/||h_i||
    unit = f.detach() / f.detach().norm(dim=1, keepdim=True)
    assert torch.allclose(f.grad, -2.0 * unit)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_bsp_matches_numpy(k):
    rng = np.random.default_rng(k)
    a, b = rng.normal(size=(10, 6)), rng.normal(size=(7, 6))
    ref = sum((np.linalg.svd(m, compute_uv=False)[:k] ** 2).sum() for m in (a, b))
    got = bsp_loss(torch.tensor(a), torch.tensor(b), k)
    assert got.item() == pytest.approx(ref, rel=1e-6)


def test_entropy_diversity_and_im_match_numpy():
    z, zt = tensors(3, 9, 4)
    p = np_softmax(z)
    ent = float(-(p * np.log(p)).sum(1).mean())
    pm = p.mean(0)
    div = float((pm * np.log(pm + 1e-5)).sum())
    assert entropy_loss(zt).item() == pytest.approx(ent, rel=1e-6)
    assert diversity_loss(zt).item() == pytest.approx(div, rel=1e-6)
    assert information_maximization_loss(zt, 0.5).item() == pytest.approx(ent + 0.5 * div, rel=1e-6)
