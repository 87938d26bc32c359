"""The data path: index sampling, the decoded-image cache and its equivalence
with the DataLoader path it replaces."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from PIL import Image

from dabench.data import decoded_cache
from dabench.data.base import TensorImageDataset, infinite_batches, ordered_batches
from dabench.data.decoded_cache import DecodedImageDataset, decoded
from dabench.data.sources.common import ImageFileDataset


def _indexed(n: int) -> TensorImageDataset:
    # Pixel value i marks sample i, so a batch tells which samples it holds.
    x = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 1, 2, 2).clone()
    return TensorImageDataset(x, torch.arange(n) % 3, ["a", "b", "c"])


def _ids(batch) -> list[int]:
    return batch.x[:, 0, 0, 0].long().tolist()


def test_index_sampling_covers_every_sample_once_per_epoch_in_seeded_order():
    n, bs = 12, 4
    ds = _indexed(n)
    it = infinite_batches(ds, bs, torch.Generator().manual_seed(7), labelled=True)
    epochs = [[i for _ in range(n // bs) for i in _ids(next(it))] for _ in range(3)]
    for epoch in epochs:
        assert sorted(epoch) == list(range(n)), "every sample exactly once per epoch"
    # One torch.randperm(n, generator) per epoch: the RandomSampler order.
    g = torch.Generator().manual_seed(7)
    assert epochs == [torch.randperm(n, generator=g).tolist() for _ in range(3)]
    assert epochs[0] != epochs[1], "each epoch is reshuffled"


def test_index_sampling_is_deterministic_and_seed_dependent():
    ds = _indexed(30)

    def draw(seed: int) -> list[list[int]]:
        it = infinite_batches(ds, 8, torch.Generator().manual_seed(seed), labelled=False)
        return [_ids(next(it)) for _ in range(10)]

    assert draw(1) == draw(1)
    assert draw(1) != draw(2)
    it = infinite_batches(ds, 8, torch.Generator().manual_seed(1), labelled=False)
    assert next(it).y is None, "unlabeled batches carry no labels"


def _image_folder(root, n_per_class=4, size=12):
    rng = np.random.default_rng(0)
    paths, targets = [], []
    for label, cls in enumerate(("cat", "dog")):
        (root / cls).mkdir(parents=True)
        for i in range(n_per_class):
            path = root / cls / f"{i}.png"
            Image.fromarray((rng.random((size + 3, size, 3)) * 255).astype(np.uint8)).save(path)
            paths.append(path)
            targets.append(label)
    return ImageFileDataset(paths, targets, ["cat", "dog"], size=8, channels=3)


@pytest.fixture
def cache_env(tmp_path, monkeypatch):
    monkeypatch.delenv("DABENCH_DECODED_CACHE", raising=False)
    monkeypatch.delenv("DABENCH_DECODED_CACHE_MAX_MB", raising=False)
    return tmp_path / "data"


def test_decoded_cache_gives_the_lazy_pixels_and_is_reused(tmp_path, cache_env, monkeypatch):
    lazy = _image_folder(tmp_path / "imgs")
    first = decoded(lazy, cache_env)
    assert isinstance(first, DecodedImageDataset)
    assert len(list((cache_env / "decoded").glob("*.pt"))) == 1
    for i in range(len(lazy)):
        x, y = first[i]
        assert torch.equal(x, lazy[i][0]) and y == lazy[i][1]

    def no_decoding(*a, **k):
        raise AssertionError("a cached domain must not be decoded again")

    monkeypatch.setattr(decoded_cache, "_decode_all", no_decoding)
    second = decoded(lazy, cache_env)
    assert isinstance(second, DecodedImageDataset) and second.key == first.key
    assert torch.equal(second.x, torch.stack([lazy[i][0] for i in range(len(lazy))]))


def test_decoded_cache_misses_when_a_file_changes(tmp_path, cache_env):
    lazy = _image_folder(tmp_path / "imgs")
    first = decoded(lazy, cache_env)
    changed = lazy.paths[3]
    Image.fromarray(np.full((15, 12, 3), 200, np.uint8)).save(changed)
    st = os.stat(changed)
    os.utime(changed, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    second = decoded(lazy, cache_env)
    assert second.key != first.key
    assert len(list((cache_env / "decoded").glob("*.pt"))) == 2
    assert torch.equal(second[3][0], lazy[3][0])
    assert not torch.equal(second[3][0], first[3][0])


def test_decoded_cache_leaves_large_or_unsized_domains_lazy(tmp_path, cache_env, monkeypatch):
    lazy = _image_folder(tmp_path / "imgs")
    monkeypatch.setenv("DABENCH_DECODED_CACHE_MAX_MB", "0.0001")
    assert decoded(lazy, cache_env) is lazy, "over the size limit: DataLoader workers read it"
    monkeypatch.delenv("DABENCH_DECODED_CACHE_MAX_MB")
    native = ImageFileDataset(lazy.paths, lazy.targets.tolist(), lazy.classes, size=None)
    assert decoded(native, cache_env) is native, "images of different sizes cannot be stacked"
    monkeypatch.setenv("DABENCH_DECODED_CACHE", "off")
    assert decoded(lazy, cache_env) is lazy


def test_decoded_domain_replays_the_dataloader_batches_and_rng(tmp_path, cache_env):
    """Batches, their order and the global RNG after them equal the DataLoader
    path's, so runs on image folders keep their results."""
    lazy = _image_folder(tmp_path / "imgs", n_per_class=5)
    fast = decoded(lazy, cache_env)
    idx = torch.tensor([0, 2, 3, 5, 6, 7, 9])
    lazy_sub = torch.utils.data.Subset(lazy, idx.tolist())
    fast_sub = fast.subset(idx)

    def run(ds):
        torch.manual_seed(0)
        it = infinite_batches(ds, 3, torch.Generator().manual_seed(4), labelled=True)
        xs = [next(it) for _ in range(7)]
        xs += list(ordered_batches(ds, 4))
        return xs, torch.rand(3)

    (a, rng_a), (b, rng_b) = run(lazy_sub), run(fast_sub)
    assert len(a) == len(b)
    for p, q in zip(a, b, strict=True):
        assert torch.equal(p.x, q.x) and torch.equal(p.y, q.y)
    assert torch.equal(rng_a, rng_b)


@pytest.mark.gpu
def test_gpu_resident_batches_equal_host_batches():
    ds = _indexed(40)
    dev = torch.device("cuda")
    host = infinite_batches(ds, 8, torch.Generator().manual_seed(3), labelled=True)
    gpu = infinite_batches(ds, 8, torch.Generator().manual_seed(3), labelled=True, device=dev)
    for _ in range(12):
        h, g = next(host), next(gpu)
        assert g.x.device.type == "cuda"
        assert torch.equal(h.x, g.x.cpu()) and torch.equal(h.y, g.y.cpu())
