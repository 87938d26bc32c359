"""The k-shot protocol: a seeded support set drawn from target train.

An *episode* is one draw: ``k`` labelled images per class from the target
training pool, optionally restricted to an ``n``-way subset of the classes.
The draw is seeded by ``(pair, episode, k, n)`` only, never by the method or
its training seed, so every method of a curve sees the same support sets and a
different episode gives a different draw. What is not drawn stays in the
unlabeled target pool; the labelled target val and the test split are untouched
by the draw (test is only ever scored; val only feeds the oracle selector).

With ``n`` ways every split keeps only the episode's classes, relabelled
``0..n-1`` in sorted order of their original index, so the task is an n-way
classification and accuracy and macro-F1 are over those n classes.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from dabench.data.base import Batch, dataset_targets, infinite_batches
from dabench.data.pairs import PairSplits, _subset
from dabench.errors import UserError

log = logging.getLogger(__name__)


@dataclass
class EpisodeSplits(PairSplits):
    """A pair's splits for one episode: ``target_support`` is the k-shot
    labelled draw, the only target labels a few-shot method ever receives;
    ``target_train`` is the rest of the pool, unlabeled."""

    target_support: Dataset | None = None


@dataclass(frozen=True)
class SupportDraw:
    """Indices into target train: the labelled support and the unlabeled rest."""

    classes: tuple[int, ...]  # original class indices of the episode, sorted
    support: np.ndarray
    rest: np.ndarray


def episode_seed(pair: str, episode: int, shots: int, ways: int) -> int:
    """A 63-bit seed from ``(pair, episode, k, n)``; nothing else enters it."""
    blob = f"fewshot|{pair}|episode={episode}|k={shots}|n={ways}".encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:8], "big") >> 1


def draw_support(
    labels: np.ndarray | torch.Tensor,
    num_classes: int,
    pair: str,
    shots: int,
    ways: int = 0,
    episode: int = 0,
) -> SupportDraw:
    """Draw ``shots`` indices per class (of ``ways`` classes, 0 = all) from ``labels``."""
    y = np.asarray(labels, dtype=np.int64)
    if shots < 1:
        raise UserError(f"data.shots must be >= 1 for a few-shot draw, got {shots}")
    if ways == 1 or ways < 0 or ways > num_classes:
        raise UserError(f"data.ways must be 0 (all classes) or 2..{num_classes}, got {ways}")
    rng = np.random.default_rng(episode_seed(pair, episode, shots, ways))
    classes = np.arange(num_classes)
    if ways:
        classes = np.sort(rng.choice(num_classes, size=ways, replace=False))
    picked = []
    for c in classes:
        pool = np.flatnonzero(y == c)
        if len(pool) < shots:
            raise UserError(
                f"{pair}: class {c} has {len(pool)} target-train images, fewer than "
                f"data.shots={shots}; use fewer shots"
            )
        picked.append(rng.choice(pool, size=shots, replace=False))
    support = np.sort(np.concatenate(picked))
    in_episode = np.isin(y, classes)
    rest_mask = in_episode.copy()
    rest_mask[support] = False
    return SupportDraw(tuple(int(c) for c in classes), support, np.flatnonzero(rest_mask))


class RelabelledDataset(Dataset):
    """A dataset whose labels go through ``mapping`` (original -> episode index)."""

    def __init__(self, ds: Dataset, mapping: dict[int, int]) -> None:
        self.ds = ds
        self.mapping = mapping
        self.targets = torch.as_tensor(
            [mapping[int(t)] for t in dataset_targets(ds)], dtype=torch.long
        )

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int) -> tuple[Any, int]:
        x, _ = self.ds[i]
        return x, int(self.targets[i])


def _keep_classes(ds: Dataset, classes: tuple[int, ...]) -> Dataset:
    """Only the images of ``classes``, labels remapped to ``0..len(classes)-1``."""
    y = dataset_targets(ds).numpy()
    sub = _subset(ds, np.flatnonzero(np.isin(y, classes)))
    mapping = {c: i for i, c in enumerate(classes)}
    from dabench.data.base import TensorImageDataset

    if isinstance(sub, TensorImageDataset):
        lut = torch.full((max(classes) + 1,), -1, dtype=torch.long)
        lut[list(classes)] = torch.arange(len(classes))
        out = sub.subset(torch.arange(len(sub)))
        out.y = lut[sub.y]
        out.classes = [sub.classes[c] for c in classes]
        return out
    return RelabelledDataset(sub, mapping)


def episode_splits(
    splits: PairSplits, pair: str, num_classes: int, shots: int, ways: int, episode: int
) -> tuple[EpisodeSplits, int]:
    """The splits of one episode and its number of classes.

    ``target_support`` holds the k-shot labelled draw; ``target_train`` becomes
    the rest of the pool (unlabeled for every method: the trainer hands it out
    without labels).
    """
    draw = draw_support(
        dataset_targets(splits.target_train), num_classes, pair, shots, ways, episode
    )
    log.info(
        "episode %d of %s: %d-shot, %d classes, %d support / %d unlabeled",
        episode,
        pair,
        shots,
        len(draw.classes),
        len(draw.support),
        len(draw.rest),
    )
    support = _subset(splits.target_train, draw.support)
    rest = _subset(splits.target_train, draw.rest)
    out = EpisodeSplits(**{**vars(splits), "target_train": rest}, target_support=support)
    if not ways:
        return out, num_classes
    keep = {
        name: _keep_classes(getattr(out, name), draw.classes)
        for name in ("source_train", "source_val", "target_train", "target_val", "target_test")
    }
    keep["target_support"] = _keep_classes(support, draw.classes)
    return replace(out, **keep), len(draw.classes)


@dataclass
class FewShotBatch(Batch):
    """An unlabeled target batch (``y`` is always None) plus a labelled batch
    drawn from the support set only."""

    support: Batch | None = None

    def to(
        self, device: torch.device, memory_format: torch.memory_format = torch.channels_last
    ) -> FewShotBatch:
        b = Batch.to(self, device, memory_format)
        support = None if self.support is None else self.support.to(device, memory_format)
        return FewShotBatch(b.x, None, support)


def few_shot_batches(
    splits: PairSplits,
    batch_size: int,
    generator: torch.Generator,
    pin_memory: bool = False,
    device: torch.device | None = None,
) -> Iterator[FewShotBatch]:
    """What a ``few_shot`` method gets each step: unlabeled images of the
    target pool and a labelled batch of the support set, nothing else."""
    support = getattr(splits, "target_support", None)
    if support is None or len(support) == 0:
        raise UserError("a few-shot method needs a support set: set data.shots to k >= 1")
    unlabeled = infinite_batches(
        splits.target_train,
        batch_size,
        generator,
        labelled=False,
        pin_memory=pin_memory,
        device=device,
    )
    labelled = infinite_batches(
        support, batch_size, generator, labelled=True, pin_memory=pin_memory, device=device
    )
    for u, s in zip(unlabeled, labelled, strict=False):
        yield FewShotBatch(u.x, None, s)
