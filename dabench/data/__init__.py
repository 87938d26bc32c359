"""Data: importing this package registers every pair."""

from dabench.data import catalog, digits, user_pairs  # noqa: F401  (register pairs)
from dabench.data.base import Batch, TensorImageDataset
from dabench.data.pairs import (
    PAIRS,
    DataContext,
    Domain,
    Pair,
    PairSplits,
    make_splits,
    skipped_images,
)

__all__ = [
    "PAIRS",
    "Batch",
    "DataContext",
    "Domain",
    "Pair",
    "PairSplits",
    "TensorImageDataset",
    "make_splits",
    "skipped_images",
]

# Third-party entries of this registry (entry point group dabench.pairs).
from dabench.plugins import load_plugins  # noqa: E402

load_plugins(("dabench.pairs",))
