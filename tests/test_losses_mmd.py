"""MK-MMD (DAN) and JMMD (JAN) against NumPy references."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dabench.losses.mmd import (
    DAN_PAPER_MULTIPLIERS,
    FIVE_MULTIPLIERS,
    jmmd,
    median_heuristic,
    mk_mmd,
    squared_distances,
)


def np_kernel(z: np.ndarray, mults, bandwidth=None) -> np.ndarray:
    d2 = ((z[:, None, :] - z[None, :, :]) ** 2).sum(-1)
    if bandwidth is None:
        m = len(z)
        bandwidth = np.median(d2[~np.eye(m, dtype=bool)])
    return np.mean([np.exp(-d2 / (u * bandwidth)) for u in mults], axis=0)


def np_mmd_quadratic(k: np.ndarray, n: int) -> float:
    m = len(k) - n
    kss, ktt, kst = k[:n, :n], k[n:, n:], k[:n, n:]
    return (
        (kss.sum() - np.trace(kss)) / (n * (n - 1))
        + (ktt.sum() - np.trace(ktt)) / (m * (m - 1))
        - 2 * kst.mean()
    )


def np_mmd_linear(k: np.ndarray, n: int) -> float:
    # DAN Eq. 3: quad-tuples (x_{2i-1}, x_{2i}, y_{2i-1}, y_{2i}), 2/n sum g(z_i).
    m = min(n, len(k) - n) // 2 * 2
    total = 0.0
    for i in range(0, m, 2):
        x1, x2, y1, y2 = i, i + 1, n + i, n + i + 1
        total += k[x1, x2] + k[y1, y2] - k[x1, y2] - k[x2, y1]
    return total * 2 / m


def test_distances_and_median_heuristic_match_numpy():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(9, 4))
    d2 = ((z[:, None] - z[None]) ** 2).sum(-1)
    got = squared_distances(torch.tensor(z))
    np.testing.assert_allclose(got.numpy(), d2, rtol=1e-9, atol=1e-12)
    assert median_heuristic(got).item() == pytest.approx(np.median(d2[~np.eye(9, dtype=bool)]))


@pytest.mark.parametrize("estimator", ["linear", "quadratic"])
@pytest.mark.parametrize("mults", [FIVE_MULTIPLIERS, DAN_PAPER_MULTIPLIERS])
def test_mk_mmd_matches_numpy(estimator, mults):
    rng = np.random.default_rng(len(mults))
    a = rng.normal(size=(8, 5))
    b = rng.normal(loc=0.7, size=(8, 5))
    k = np_kernel(np.concatenate([a, b]), mults)
    ref = (np_mmd_linear if estimator == "linear" else np_mmd_quadratic)(k, 8)
    got = mk_mmd(torch.tensor(a), torch.tensor(b), mults, estimator).item()
    assert got == pytest.approx(ref, rel=1e-9)


def test_mk_mmd_unequal_batches_and_fixed_bandwidth():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(7, 3)), rng.normal(size=(4, 3))
    k = np_kernel(np.concatenate([a, b]), (1.0, 2.0), bandwidth=1.5)
    for est, ref in (("quadratic", np_mmd_quadratic(k, 7)), ("linear", np_mmd_linear(k, 7))):
        got = mk_mmd(torch.tensor(a), torch.tensor(b), (1.0, 2.0), est, bandwidth=1.5).item()
        assert got == pytest.approx(ref, rel=1e-9)
    with pytest.raises(ValueError):
        mk_mmd(torch.zeros(1, 3), torch.zeros(5, 3), estimator="linear")
    with pytest.raises(ValueError):
        mk_mmd(torch.zeros(4, 3), torch.zeros(4, 3), estimator="cubic")


def test_mk_mmd_separates_shifted_distributions():
    torch.manual_seed(0)
    a = torch.randn(64, 6)
    same = mk_mmd(a[:32], a[32:], estimator="quadratic").item()
    shifted = mk_mmd(a[:32], a[32:] + 2.0, estimator="quadratic").item()
    assert abs(same) < 0.05 < shifted
    assert mk_mmd(a, a, estimator="linear").item() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("estimator", ["linear", "quadratic"])
def test_jmmd_is_the_mmd_of_the_product_kernel(estimator):
    rng = np.random.default_rng(2)
    fs, ft = rng.normal(size=(6, 4)), rng.normal(loc=0.5, size=(6, 4))
    ps, pt = rng.dirichlet(np.ones(3), 6), rng.dirichlet(np.ones(3), 6)
    k = np_kernel(np.concatenate([fs, ft]), FIVE_MULTIPLIERS) * np_kernel(
        np.concatenate([ps, pt]), (1.0,), bandwidth=1.68
    )
    ref = (np_mmd_linear if estimator == "linear" else np_mmd_quadratic)(k, 6)
    kernels = ((FIVE_MULTIPLIERS, None), ((1.0,), 1.68))
    t = [torch.tensor(x) for x in (fs, ps, ft, pt)]
    got = jmmd([t[0], t[1]], [t[2], t[3]], kernels, estimator).item()
    assert got == pytest.approx(ref, rel=1e-9)
    # Not the MMD of the features alone: the predictions enter the joint kernel.
    alone = mk_mmd(t[0], t[2], FIVE_MULTIPLIERS, estimator).item()
    assert abs(got - alone) > 1e-4
    with pytest.raises(ValueError):
        jmmd([t[0]], [t[2]], kernels, estimator)
