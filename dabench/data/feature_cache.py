"""Frozen-feature cache: a frozen backbone's features of one split, on disk.

Heads on a frozen backbone (prototypes, linear probes, zero-shot maps) spend
almost all their time in the backbone's forward pass, and that pass gives the
same features for every method, training seed, k and episode. Each split's
features are computed once and stored under a hash of

* the backbone: its registered name and a digest of every parameter and buffer
  (so other weights, or the same architecture from scratch, miss);
* the preprocessing: the backbone's input transform (resize, normalisation)
  and the shape of the images it is fed;
* the data: domain name, split name and a digest of the split's labels and
  pixels (for in-memory splits) or member indices, so a new split seed, pair
  version or recipe misses.

Entries are ``<dir>/<hash>.pt``; reading one refreshes its mtime and the cache
is trimmed to ``DABENCH_FEATURE_CACHE_MAX_MB`` (default 2048) by dropping the
least recently used entries. ``DABENCH_FEATURE_CACHE`` sets the directory
(default ``<data root>/features``); ``DABENCH_FEATURE_CACHE=off`` disables it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from dabench.data.base import TensorImageDataset, dataset_targets, ordered_batches
from dabench.home import expand_path

log = logging.getLogger(__name__)

CACHE_FORMAT = 1  # bump when the stored layout changes
DEFAULT_MAX_MB = 2048


class FeatureDataset(TensorImageDataset):
    """Feature vectors ``x`` (N, D) with labels ``y``: a split after a frozen backbone."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, classes: list[str]) -> None:
        if x.ndim != 2:
            raise ValueError(f"expected features of shape (N, D), got {tuple(x.shape)}")
        if len(x) != len(y):
            raise ValueError(f"{len(x)} feature rows but {len(y)} labels")
        self.x = x.float().contiguous()
        self.y = y.long().contiguous()
        self.classes = list(classes)

    def subset(self, idx: torch.Tensor | list[int]) -> FeatureDataset:
        idx = torch.as_tensor(idx, dtype=torch.long)
        return FeatureDataset(self.x[idx], self.y[idx], self.classes)


def cache_dir() -> Path | None:
    """Where entries live; None when the cache is switched off."""
    env = os.environ.get("DABENCH_FEATURE_CACHE", "")
    if env.lower() in ("off", "0", "none", "false"):
        return None
    if env:
        return expand_path(env)
    from dabench.data.pairs import DataContext

    return DataContext.default().root / "features"


def max_bytes() -> int:
    return int(float(os.environ.get("DABENCH_FEATURE_CACHE_MAX_MB", DEFAULT_MAX_MB)) * 2**20)


def _digest_tensors(h: Any, named: list[tuple[str, torch.Tensor]]) -> None:
    for name, t in named:
        if t is None:
            continue
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}".encode())
        h.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())


def backbone_digest(backbone: nn.Module) -> str:
    """Digest of a backbone's class, parameters and buffers (persistent or not)."""
    h = hashlib.sha256(type(backbone).__qualname__.encode())
    _digest_tensors(h, list(backbone.named_parameters()) + list(backbone.named_buffers()))
    return h.hexdigest()[:16]


def dataset_digest(ds: Dataset) -> str:
    """Digest of a split's labels and content (pixels, or member indices)."""
    h = hashlib.sha256(str(len(ds)).encode())  # type: ignore[arg-type]
    _digest_tensors(h, [("y", dataset_targets(ds))])
    content_key = getattr(ds, "content_key", None)
    if content_key is not None:  # memory-mapped decoded images: no pixel read
        h.update(content_key().encode())
    elif isinstance(ds, TensorImageDataset):
        _digest_tensors(h, [("x", ds.x)])
    else:
        idx = getattr(ds, "indices", None)
        base = getattr(ds, "dataset", ds)
        h.update(f"{type(base).__qualname__}|{getattr(base, 'root', '')}|{idx}".encode())
        skipped = getattr(base, "skipped", None)
        if skipped:  # data.bad_images=skip: member indices then point at other files
            h.update(("skipped|" + "|".join(map(str, skipped))).encode())
    return h.hexdigest()[:16]


def cache_key(
    backbone_name: str, backbone: nn.Module, domain: str, split: str, ds: Dataset
) -> tuple[str, dict[str, Any]]:
    """The entry hash and the key it was made from (stored with the entry)."""
    pre = getattr(backbone, "preprocess", None)
    first = ds[0][0] if len(ds) else None  # type: ignore[arg-type]
    key = {
        "format": CACHE_FORMAT,
        "backbone": backbone_name,
        "weights": backbone_digest(backbone),
        "preprocess": repr(pre) if pre is not None else "none",
        "input_shape": list(first.shape) if first is not None else None,
        "domain": domain,
        "split": split,
        "data": dataset_digest(ds),
    }
    blob = json.dumps(key, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:24], key


@torch.no_grad()
def extract(backbone: nn.Module, ds: Dataset, device: torch.device) -> FeatureDataset:
    """One ordered pass of a frozen backbone (eval mode) over ``ds``."""
    was_training = backbone.training
    backbone.eval()
    bs = getattr(backbone, "eval_batch_size", 256)
    feats, labels = [], []
    for b in ordered_batches(ds, bs):
        feats.append(backbone(b.to(device).x).float().cpu())
        labels.append(b.y)
    backbone.train(was_training)
    classes = list(
        getattr(ds, "classes", []) or getattr(getattr(ds, "dataset", None), "classes", [])
    )
    if not feats:
        return FeatureDataset(torch.zeros(0, 0), torch.zeros(0, dtype=torch.long), classes)
    return FeatureDataset(torch.cat(feats), torch.cat(labels), classes)


@dataclass
class CacheEntry:
    path: Path
    size: int
    last_used: float
    key: dict[str, Any]


def entries(root: Path | None = None) -> list[CacheEntry]:
    root = root if root is not None else cache_dir()
    if root is None or not root.is_dir():
        return []
    out = []
    for p in sorted(root.glob("*.pt")):
        st = p.stat()
        meta = p.with_suffix(".json")
        key = json.loads(meta.read_text()) if meta.exists() else {}
        out.append(CacheEntry(p, st.st_size, st.st_mtime, key))
    return out


def clear(root: Path | None = None) -> int:
    """Delete every entry; returns how many."""
    gone = 0
    for e in entries(root):
        e.path.unlink(missing_ok=True)
        e.path.with_suffix(".json").unlink(missing_ok=True)
        gone += 1
    return gone


def trim(root: Path, limit: int, keep: Path | None = None) -> int:
    """Drop least recently used entries until the total is within ``limit``."""
    es = sorted(entries(root), key=lambda e: e.last_used)
    total = sum(e.size for e in es)
    dropped = 0
    for e in es:
        if total <= limit:
            break
        if keep is not None and e.path == keep:
            continue
        e.path.unlink(missing_ok=True)
        e.path.with_suffix(".json").unlink(missing_ok=True)
        total -= e.size
        dropped += 1
    return dropped


def cached_features(
    backbone_name: str,
    backbone: nn.Module,
    domain: str,
    split: str,
    ds: Dataset,
    device: torch.device,
    root: Path | None = None,
) -> tuple[FeatureDataset, bool]:
    """Features of ``ds`` and whether they came from the cache."""
    root = root if root is not None else cache_dir()
    if root is None:
        return extract(backbone, ds, device), False
    digest, key = cache_key(backbone_name, backbone, domain, split, ds)
    path = root / f"{digest}.pt"
    if path.exists():
        try:
            blob = torch.load(path, map_location="cpu", weights_only=True)
            os.utime(path)  # least-recently-used order
            log.info("feature cache hit: %s %s (%s)", domain, split, path.name)
            return FeatureDataset(blob["x"], blob["y"], list(blob["classes"])), True
        except Exception as e:  # a truncated or foreign file: recompute it
            log.warning("feature cache entry %s unreadable (%s); recomputing", path, e)
    t0 = time.perf_counter()
    feats = extract(backbone, ds, device)
    log.info("features of %s %s in %.1fs", domain, split, time.perf_counter() - t0)
    root.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=root, prefix=".", suffix=".tmp")
    os.close(fd)
    torch.save({"x": feats.x, "y": feats.y, "classes": feats.classes}, tmp)
    if os.path.getsize(tmp) > max_bytes():
        log.warning("features of %s %s exceed the cache bound; not cached", domain, split)
        os.unlink(tmp)
        return feats, False
    os.replace(tmp, path)
    path.with_suffix(".json").write_text(json.dumps(key, sort_keys=True) + "\n")
    trim(root, max_bytes(), keep=path)
    return feats, False
