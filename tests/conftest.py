from __future__ import annotations

import warnings

import pytest
import torch

warnings.filterwarnings("ignore", message="pkg_resources is deprecated")

import dabench.data  # noqa: E402,F401  (registers pairs)
import dabench.methods  # noqa: E402,F401  (registers methods)
from dabench.data.base import TensorImageDataset  # noqa: E402
from dabench.data.pairs import PairSplits  # noqa: E402

_LOCAL = ("127.", "::1", "localhost", "0.0.0.0")


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Tests never reach beyond this machine: a download path is tested with an
    injected fetcher, and any real connection off loopback fails the test."""
    import socket

    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else str(address)
        if self.family != socket.AF_UNIX and not str(host).startswith(_LOCAL):
            raise AssertionError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


def pytest_collection_modifyitems(config, items):
    if not torch.cuda.is_available():
        skip = pytest.mark.skip(reason="needs CUDA")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)


def _random_domain(
    n: int, shape: tuple[int, int, int], num_classes: int, seed: int
) -> TensorImageDataset:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, *shape, generator=g)
    y = torch.arange(n) % num_classes
    return TensorImageDataset(x, y, [str(i) for i in range(num_classes)])


@pytest.fixture
def tiny_splits() -> PairSplits:
    """Random-tensor splits: enough to exercise the trainer in milliseconds."""
    shape = (1, 28, 28)
    return PairSplits(
        source_train=_random_domain(32, shape, 10, 0),
        source_val=_random_domain(20, shape, 10, 1),
        target_train=_random_domain(32, shape, 10, 2),
        target_val=_random_domain(20, shape, 10, 3),
        target_test=_random_domain(20, shape, 10, 4),
    )


@pytest.fixture
def results_dir(tmp_path):
    d = tmp_path / "results"
    d.mkdir()
    return d
