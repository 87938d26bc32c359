"""Frozen-feature cache: hits, misses, invalidation, the size bound, the CLI."""

from __future__ import annotations

import torch
from click.testing import CliRunner
from torch import nn

from dabench.cli import main
from dabench.data import feature_cache as fc
from dabench.data.base import TensorImageDataset
from dabench.models.backbones import Backbone


class Tiny(Backbone):
    out_features = 4
    eval_batch_size = 7

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        # BatchNorm brings a 0-dim buffer (num_batches_tracked), as real backbones do.
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(16, 4), nn.BatchNorm1d(4))
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.net(x)


def _data(n: int = 20, seed: int = 0) -> TensorImageDataset:
    g = torch.Generator().manual_seed(seed)
    return TensorImageDataset(torch.rand(n, 1, 4, 4, generator=g), torch.arange(n) % 3, list("abc"))


def _get(bb, ds, root, split="target_test", domain="d"):
    return fc.cached_features("tiny", bb, domain, split, ds, torch.device("cpu"), root=root)


def test_miss_then_hit_gives_the_same_features_without_the_backbone(tmp_path):
    bb, ds = Tiny(), _data()
    first, hit1 = _get(bb, ds, tmp_path)
    calls = bb.calls
    second, hit2 = _get(bb, ds, tmp_path)
    assert (hit1, hit2) == (False, True)
    assert bb.calls == calls, "a hit runs no forward pass"
    assert torch.equal(first.x, second.x) and torch.equal(first.y, ds.y)
    assert torch.allclose(first.x, bb.eval()(ds.x).detach()), "features of the eval-mode backbone"


def test_any_part_of_the_key_changing_is_a_miss(tmp_path):
    bb, ds = Tiny(), _data()
    _get(bb, ds, tmp_path)
    assert _get(bb, ds, tmp_path)[1]
    assert not _get(Tiny(seed=1), ds, tmp_path)[1], "other weights"
    assert not _get(bb, _data(seed=5), tmp_path)[1], "other pixels"
    assert not _get(bb, ds, tmp_path, split="target_train")[1], "other split"
    assert not _get(bb, ds, tmp_path, domain="e")[1], "other domain"
    relabelled = TensorImageDataset(ds.x, (ds.y + 1) % 3, ds.classes)
    assert not _get(bb, relabelled, tmp_path)[1], "other labels"
    bb2 = Tiny()
    bb2.preprocess = nn.Identity()  # another input transform, same weights
    assert not _get(bb2, ds, tmp_path)[1], "other preprocessing"
    with torch.no_grad():
        bb.net[1].bias += 1.0  # weights edited in place
    assert not _get(bb, ds, tmp_path)[1]


def test_size_bound_drops_least_recently_used(tmp_path, monkeypatch):
    import os
    import time

    bb = Tiny()
    a, b, c = _data(seed=0), _data(seed=1), _data(seed=2)
    _get(bb, a, tmp_path)
    one = fc.entries(tmp_path)[0].size
    monkeypatch.setenv("DABENCH_FEATURE_CACHE_MAX_MB", str(2.5 * one / 2**20))
    _get(bb, b, tmp_path)
    now = time.time()
    for ds, age in ((a, 100), (b, 50)):  # b was used after a ...
        path = tmp_path / f"{fc.cache_key('tiny', bb, 'd', 'target_test', ds)[0]}.pt"
        os.utime(path, (now - age, now - age))
    assert _get(bb, a, tmp_path)[1]  # ... but reading a makes b the least recently used
    _get(bb, c, tmp_path)  # a third entry goes over the bound
    es = fc.entries(tmp_path)
    assert len(es) == 2 and sum(e.size for e in es) <= 2.5 * one
    assert _get(bb, a, tmp_path)[1] and _get(bb, c, tmp_path)[1]
    assert not _get(bb, b, tmp_path)[1], "least recently used entry dropped"


def test_cache_off_never_writes(tmp_path, monkeypatch):
    monkeypatch.setenv("DABENCH_FEATURE_CACHE", "off")
    feats, hit = fc.cached_features("tiny", Tiny(), "d", "s", _data(), torch.device("cpu"))
    assert not hit and feats.x.shape == (20, 4) and fc.cache_dir() is None


def test_cli_status_and_clear(tmp_path, monkeypatch):
    monkeypatch.setenv("DABENCH_FEATURE_CACHE", str(tmp_path))
    _get(Tiny(), _data(), tmp_path)
    r = CliRunner().invoke(main, ["cache", "status"])
    assert r.exit_code == 0 and "1 entries" in r.output and "target_test" in r.output, r.output
    r = CliRunner().invoke(main, ["cache", "clear"])
    assert r.exit_code == 0 and "removed 1" in r.output
    assert fc.entries(tmp_path) == []
