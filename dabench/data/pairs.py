"""Domains, source->target pairs and their seeded, method-independent splits."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from torch.utils.data import Dataset, Subset

from dabench.data.base import TensorImageDataset, dataset_targets
from dabench.errors import DataMissingError
from dabench.home import expand_path
from dabench.registry import Registry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DataContext:
    """Where data lives, whether it may be fetched, and what to do with image
    files that do not decode (``bad_images``: "error" or "skip", see
    :mod:`dabench.data.sources.decode`)."""

    root: Path
    download: bool = False
    bad_images: str = "error"

    @staticmethod
    def default(
        root: str | Path | None = None, download: bool = False, bad_images: str = "error"
    ) -> DataContext:
        if root is None:
            root = os.environ.get("DABENCH_DATA") or Path.home() / ".cache" / "dabench"
        return DataContext(expand_path(root), download, bad_images)


@dataclass(frozen=True)
class Domain:
    """One labelled image collection.

    ``load`` returns the whole collection, or its official training split when
    ``load_test`` returns an official test split (then a target's test metrics
    are computed on that official test set). ``where`` names the files or
    folders it reads, for `dabench data status`; empty for data that ships
    inside an installed package.
    """

    name: str
    description: str
    load: Callable[[DataContext], Dataset]
    load_test: Callable[[DataContext], Dataset] | None = None
    where: Callable[[DataContext], list[Path]] | None = None
    offline: bool = True  # ships with an installed package or is built from one


@dataclass(frozen=True)
class Pair:
    """A registered source -> target transfer task.

    ``version`` is bumped whenever splits or preprocessing change, so records
    made under an older definition are never silently mixed with new ones.
    """

    name: str
    source: Domain
    target: Domain
    classes: tuple[str, ...]
    input_shape: tuple[int, int, int]
    description: str
    version: int = 1
    default_backbone: str = "dann_digits"
    source_val_frac: float = 0.2
    # Target: unlabeled train pool / labelled val (only for `oracle` and
    # few-shot) / test (final metrics only).
    target_fracs: tuple[float, float, float] = (0.5, 0.15, 0.35)
    tags: tuple[str, ...] = field(default=())
    # Name of a class map in configs/class_maps when the source's label space is
    # ImageNet-1k synsets (used by zero-shot heads on a pretrained classifier).
    class_map: str | None = None
    # A user pair's YAML file (resolved path) and the sha256 of its content:
    # copied into each run's config so reports and later runs find the pair.
    origin: str | None = None
    origin_sha256: str | None = None


PAIRS: Registry[Pair] = Registry("pair")


@dataclass
class PairSplits:
    source_train: Dataset
    source_val: Dataset
    target_train: Dataset
    target_val: Dataset
    target_test: Dataset

    def sizes(self) -> dict[str, int]:
        return {k: len(v) for k, v in vars(self).items()}  # type: ignore[arg-type]


def _stratified(
    labels: np.ndarray, test_size: float, seed: int, idx: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    idx = np.arange(len(labels)) if idx is None else idx
    a, b = train_test_split(idx, test_size=test_size, random_state=seed, stratify=labels[idx])
    return np.sort(a), np.sort(b)


def _subset(ds: Dataset, idx: np.ndarray) -> Dataset:
    if isinstance(ds, TensorImageDataset):
        return ds.subset(torch.from_numpy(idx))
    sub = Subset(ds, idx.tolist())
    sub.targets = dataset_targets(ds)[torch.from_numpy(idx)]  # type: ignore[attr-defined]
    return sub


@lru_cache(maxsize=8)
def _load_domain(domain: Domain, ctx: DataContext) -> Dataset:
    from dabench.data.decoded_cache import decoded

    log.info("loading domain %s", domain.name)
    # File-backed domains are decoded once into a memory-mapped tensor.
    return decoded(domain.load(ctx), ctx.root)


@lru_cache(maxsize=8)
def _load_domain_test(domain: Domain, ctx: DataContext) -> Dataset:
    from dabench.data.decoded_cache import decoded

    assert domain.load_test is not None
    return decoded(domain.load_test(ctx), ctx.root)


def load_pair_data(
    pair: Pair, ctx: DataContext, need_source: bool = True
) -> tuple[Dataset | None, Dataset, Dataset | None]:
    """Source, target and (if the target has one) official target test data.

    Everything missing is reported at once, in one line, so a user fixes it
    in one go.
    """
    problems: list[str] = []
    out: list[Dataset | None] = []
    jobs = [(pair.source.name, lambda: _load_domain(pair.source, ctx)) if need_source else None]
    jobs.append((pair.target.name, lambda: _load_domain(pair.target, ctx)))
    jobs.append(
        (f"{pair.target.name} test", lambda: _load_domain_test(pair.target, ctx))
        if pair.target.load_test
        else None
    )
    for job in jobs:
        if job is None:
            out.append(None)
            continue
        try:
            out.append(job[1]())
        except DataMissingError as e:
            problems.append(str(e))
            out.append(None)
    if problems:
        unique = list(dict.fromkeys(problems))
        raise DataMissingError(
            f"pair {pair.name!r} needs data that is missing: " + " | ".join(unique)
        )
    return out[0], out[1], out[2]  # type: ignore[return-value]


def make_splits(
    pair: Pair, ctx: DataContext, split_seed: int = 0, need_source: bool = True
) -> PairSplits:
    """Split both domains, stratified by class, seeded only by the pair and
    ``split_seed``: every method and every training seed sees the same splits.

    A target with an official test split is evaluated on it; its training
    split is divided into the unlabeled pool and the labelled validation set.
    With ``need_source=False`` the source splits are empty (for methods that
    use no source images).
    """
    src, tgt, tgt_test = load_pair_data(pair, ctx, need_source)
    yt = dataset_targets(tgt).numpy()
    f_train, f_val, f_test = pair.target_fracs
    if tgt_test is None:
        t_rest, t_test = _stratified(yt, f_test, split_seed + 1)
        t_train, t_val = _stratified(yt, f_val / (f_train + f_val), split_seed + 2, t_rest)
        test = _subset(tgt, t_test)
    else:
        t_train, t_val = _stratified(yt, f_val / (f_train + f_val), split_seed + 2)
        test = tgt_test
    if src is not None:
        ys = dataset_targets(src).numpy()
        s_train, s_val = _stratified(ys, pair.source_val_frac, split_seed)
        source_train, source_val = _subset(src, s_train), _subset(src, s_val)
    else:
        empty = np.zeros(0, dtype=np.int64)
        source_train = source_val = _subset(tgt, empty)
    return PairSplits(
        source_train=source_train,
        source_val=source_val,
        target_train=_subset(tgt, t_train),
        target_val=_subset(tgt, t_val),
        target_test=test,
    )


def _skipped_files(ds: Dataset) -> int:
    while not hasattr(ds, "skipped") and hasattr(ds, "ds"):  # through relabelling wrappers
        ds = ds.ds  # type: ignore[attr-defined]
    return len(getattr(ds, "skipped", ()))


def skipped_images(pair: Pair, ctx: DataContext, need_source: bool = True) -> dict[str, int]:
    """With ``ctx.bad_images == "skip"``, how many undecodable image files
    each side left out (``data_skipped_images_{source,target}``), for the run
    record's ``extra``; empty under ``error``. Reads the domains already
    loaded by :func:`make_splits`."""
    if ctx.bad_images != "skip":
        return {}
    counts = {"data_skipped_images_source": 0, "data_skipped_images_target": 0}
    if need_source:
        counts["data_skipped_images_source"] = _skipped_files(_load_domain(pair.source, ctx))
    target = _skipped_files(_load_domain(pair.target, ctx))
    if pair.target.load_test is not None:
        target += _skipped_files(_load_domain_test(pair.target, ctx))
    counts["data_skipped_images_target"] = target
    return counts
