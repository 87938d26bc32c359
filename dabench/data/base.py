"""Datasets, batches and the label-hiding plumbing every method goes through."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler


@dataclass
class Batch:
    """A batch of images; ``y`` is ``None`` when the method may not see labels.

    Unlabeled target batches are built without their labels, so a method that
    declares ``unlabeled`` target access cannot read them even by accident.
    """

    x: torch.Tensor
    y: torch.Tensor | None = None

    def to(self, device: torch.device) -> Batch:
        x = self.x.to(device, non_blocking=True)
        if x.ndim == 4:  # images: match the channels_last layout the trainer uses
            x = x.contiguous(memory_format=torch.channels_last)
        return Batch(
            x,
            None if self.y is None else self.y.to(device, non_blocking=True),
        )

    def __len__(self) -> int:
        return int(self.x.shape[0])


class TensorImageDataset(Dataset):
    """In-memory images ``x`` (N, C, H, W, float in [0, 1]) with labels ``y``."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, classes: list[str]) -> None:
        if x.ndim != 4:
            raise ValueError(f"expected images of shape (N, C, H, W), got {tuple(x.shape)}")
        if len(x) != len(y):
            raise ValueError(f"{len(x)} images but {len(y)} labels")
        self.x = x.float().contiguous()
        self.y = y.long().contiguous()
        self.classes = list(classes)

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.x[i], int(self.y[i])

    @property
    def targets(self) -> torch.Tensor:
        return self.y

    def subset(self, idx: torch.Tensor | list[int]) -> TensorImageDataset:
        idx = torch.as_tensor(idx, dtype=torch.long)
        return TensorImageDataset(self.x[idx], self.y[idx], self.classes)

    def batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[idx], self.y[idx]


def dataset_targets(ds: Dataset) -> torch.Tensor:
    """Labels of a dataset without decoding its images, where it exposes them."""
    t = getattr(ds, "targets", None)
    if t is None:
        t = [ds[i][1] for i in range(len(ds))]  # type: ignore[arg-type]
    return torch.as_tensor(t, dtype=torch.long)


def infinite_batches(
    ds: Dataset,
    batch_size: int,
    generator: torch.Generator,
    *,
    labelled: bool,
    num_workers: int = 0,
    pin_memory: bool = False,
) -> Iterator[Batch]:
    """Endless shuffled batches; reshuffles each pass with the given generator.

    In-memory datasets are indexed directly (a DataLoader costs more than the
    forward pass of a digit CNN); anything else goes through a DataLoader.
    """
    n = len(ds)  # type: ignore[arg-type]
    if n == 0:
        raise ValueError("cannot draw batches from an empty dataset")
    bs = min(batch_size, n)
    if isinstance(ds, TensorImageDataset):
        while True:
            perm = torch.randperm(n, generator=generator)
            for start in range(0, n - bs + 1, bs):
                x, y = ds.batch(perm[start : start + bs])
                yield Batch(x, y if labelled else None)
    else:
        loader = DataLoader(
            ds,
            batch_size=bs,
            sampler=RandomSampler(ds, generator=generator),
            drop_last=True,
            num_workers=num_workers,
            pin_memory=pin_memory,
        )
        while True:
            for x, y in loader:
                yield Batch(x, y if labelled else None)


def ordered_batches(ds: Dataset, batch_size: int, num_workers: int = 0) -> Iterator[Batch]:
    """One ordered pass with labels, for evaluation."""
    if isinstance(ds, TensorImageDataset):
        for start in range(0, len(ds), batch_size):
            idx = torch.arange(start, min(start + batch_size, len(ds)))
            yield Batch(*ds.batch(idx))
    else:
        for x, y in DataLoader(ds, batch_size=batch_size, num_workers=num_workers):
            yield Batch(x, y)
