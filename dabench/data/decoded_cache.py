"""Decoded-image cache: an image-folder domain decoded and resized once, on disk.

A file-backed domain (:class:`~dabench.data.sources.common.ImageFileDataset`)
otherwise decodes every image with PIL in the training process at every step.
Here the whole domain is decoded once into one uint8 ``(N, C, S, S)`` tensor
stored under a hash of

* every file's path, size in bytes and modification time (a changed, added or
  removed file misses);
* the target size and channel count, the dataset class that decodes and the
  PIL version (the preprocessing);
* :data:`CACHE_FORMAT`.

Later loads memory-map the file (``torch.load(mmap=True)``), so processes of a
sweep share one copy in the page cache. Batches are gathered by index, as for
in-memory domains, and converted to float in [0, 1] exactly as the lazy path
does (``uint8 / 255``), so a cached domain gives the same pixels.

Domains without a fixed image size, or larger than ``DABENCH_DECODED_CACHE_MAX_MB``
(default 4096) once decoded, stay lazy and are read by DataLoader worker
processes instead. ``DABENCH_DECODED_CACHE`` sets the directory (default
``<data root>/decoded``); ``DABENCH_DECODED_CACHE=off`` disables the cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from dabench.data.base import TensorImageDataset
from dabench.home import expand_path

log = logging.getLogger(__name__)

CACHE_FORMAT = 1  # bump when the stored layout changes
DEFAULT_MAX_MB = 4096


class DecodedImageDataset(TensorImageDataset):
    """Rows ``index`` of a (memory-mapped) uint8 image tensor, with labels ``y``.

    Subsets share the one ``pixels`` tensor; only ``index`` and ``y`` are copied.
    """

    def __init__(
        self,
        pixels: torch.Tensor,
        index: torch.Tensor,
        y: torch.Tensor,
        classes: list[str],
        key: str = "",
    ) -> None:
        if pixels.ndim != 4 or pixels.dtype != torch.uint8:
            raise ValueError(
                f"expected uint8 images (N, C, H, W), got {pixels.dtype} {tuple(pixels.shape)}"
            )
        if len(index) != len(y):
            raise ValueError(f"{len(index)} images but {len(y)} labels")
        self.pixels = pixels
        self.index = torch.as_tensor(index, dtype=torch.long)
        self.y = torch.as_tensor(y, dtype=torch.long)
        self.classes = list(classes)
        self.key = key

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return _to_unit(self.pixels[int(self.index[i])]), int(self.y[i])

    @property
    def x(self) -> torch.Tensor:  # type: ignore[override]
        return _to_unit(self.pixels[self.index])

    def content_key(self) -> str:
        """What identifies the content without reading pixels: the cache entry
        and the member rows (for digests, e.g. the frozen-feature cache)."""
        h = hashlib.sha256(self.key.encode())
        h.update(self.index.numpy().tobytes())
        return h.hexdigest()[:24]

    def subset(self, idx: torch.Tensor | list[int]) -> DecodedImageDataset:
        idx = torch.as_tensor(idx, dtype=torch.long)
        return DecodedImageDataset(
            self.pixels, self.index[idx], self.y[idx], self.classes, self.key
        )

    def batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return _to_unit(self.pixels[self.index[idx]]), self.y[idx]

    def storage(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.pixels[self.index], self.y

    @staticmethod
    def from_storage(
        x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return _to_unit(x[idx]), y[idx]

    # Image folders were read through a DataLoader before this cache existed:
    # replaying its random-number use keeps their results identical.
    replays_loader_rng = True


def _to_unit(x: torch.Tensor) -> torch.Tensor:
    """uint8 -> float32 in [0, 1], the same arithmetic as the lazy decoder."""
    return x.float().div_(255.0)


def cache_dir(root: Path) -> Path | None:
    """Where entries live; None when the cache is switched off."""
    env = os.environ.get("DABENCH_DECODED_CACHE", "")
    if env.lower() in ("off", "0", "none", "false"):
        return None
    return expand_path(env) if env else Path(root) / "decoded"


def max_bytes() -> int:
    return int(float(os.environ.get("DABENCH_DECODED_CACHE_MAX_MB", DEFAULT_MAX_MB)) * 2**20)


def cache_key(ds: Any) -> tuple[str, dict[str, Any]]:
    """The entry hash and the key it was made from (stored with the entry)."""
    import PIL

    files = []
    for p in ds.paths:
        st = os.stat(p)
        files.append([str(p), st.st_size, st.st_mtime_ns])
    key = {
        "format": CACHE_FORMAT,
        "decoder": f"{type(ds).__module__}.{type(ds).__qualname__}",
        "pil": PIL.__version__,
        "size": ds.size,
        "channels": ds.channels,
        "files": files,
    }
    blob = json.dumps(key, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:24], key


def _decode_all(ds: Dataset, n: int) -> torch.Tensor | None:
    """Every image of ``ds`` as one uint8 tensor, or None if shapes differ."""

    def one(i: int) -> torch.Tensor:
        x = ds[i][0]
        return x.mul(255.0).round_().to(torch.uint8)

    # PIL releases the GIL while decoding and resizing, so threads overlap.
    workers = max(1, min(8, os.cpu_count() or 1))
    with ThreadPoolExecutor(workers) as pool:
        images = list(pool.map(one, range(n)))
    if len({tuple(im.shape) for im in images}) > 1:
        return None
    return torch.stack(images)


def decoded(ds: Dataset, root: Path) -> Dataset:
    """``ds`` decoded through the cache when it is a file-backed image dataset
    of a fixed size that fits under the size limit; otherwise ``ds`` itself."""
    if not hasattr(ds, "paths") or getattr(ds, "size", None) is None:
        return ds
    where = cache_dir(root)
    n = len(ds)  # type: ignore[arg-type]
    if where is None or n == 0:
        return ds
    channels = ds.channels or 3  # type: ignore[attr-defined]
    need = n * channels * ds.size * ds.size  # type: ignore[attr-defined]
    if need > max_bytes():
        log.info(
            "decoded cache: %d images need %.0f MB > DABENCH_DECODED_CACHE_MAX_MB; "
            "decoding in DataLoader workers instead",
            n,
            need / 2**20,
        )
        return ds
    h, key = cache_key(ds)
    path = where / f"{h}.pt"
    if path.exists():
        try:
            entry = torch.load(path, mmap=True, weights_only=True)
            pixels = entry["pixels"]
            if len(pixels) == n:
                log.info("decoded cache hit: %s", path)
                return _cached(ds, pixels, h)
        except (OSError, RuntimeError, KeyError, EOFError) as e:
            log.warning("decoded cache entry %s unreadable (%s); decoding again", path, e)
    pixels = _decode_all(ds, n)
    if pixels is None:
        log.info("decoded cache: images of %s differ in shape; staying lazy", ds)
        return ds
    where.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=where, suffix=".tmp")
    os.close(fd)
    try:
        torch.save({"pixels": pixels, "key": json.dumps(key)}, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    log.info("decoded cache: wrote %d images to %s", n, path)
    pixels = torch.load(path, mmap=True, weights_only=True)["pixels"]
    return _cached(ds, pixels, h)


def _cached(ds: Dataset, pixels: torch.Tensor, h: str) -> Dataset:
    """The decoded dataset, keeping the files ``data.bad_images=skip`` left out
    (``skipped``) so the run record still counts them."""
    out = DecodedImageDataset(pixels, torch.arange(len(pixels)), ds.targets, ds.classes, h)  # type: ignore[attr-defined]
    out.skipped = list(getattr(ds, "skipped", ()))
    return out
