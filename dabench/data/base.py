"""Datasets, batches and the label-hiding plumbing every method goes through."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

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

    def to(
        self, device: torch.device, memory_format: torch.memory_format = torch.channels_last
    ) -> Batch:
        x = self.x.to(device, non_blocking=True)
        if x.ndim == 4:  # images: match the layout of the model (train.channels_last)
            x = x.contiguous(memory_format=memory_format)
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

    def storage(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The tensors :meth:`from_storage` gathers from (to move them to a GPU once)."""
        return self.x, self.y

    @staticmethod
    def from_storage(
        x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return x[idx], y[idx]

    # True for datasets that used to be read through a DataLoader: their
    # batches then replay its random-number use (see _loader_rng).
    replays_loader_rng: ClassVar[bool] = False


def dataset_targets(ds: Dataset) -> torch.Tensor:
    """Labels of a dataset without decoding its images, where it exposes them."""
    t = getattr(ds, "targets", None)
    if t is None:
        t = [ds[i][1] for i in range(len(ds))]  # type: ignore[arg-type]
    return torch.as_tensor(t, dtype=torch.long)


def _is_indexed(ds: Dataset) -> bool:
    """In-memory or memory-mapped datasets that hand out a whole batch per index
    tensor: no per-sample ``__getitem__``, no collation, no DataLoader."""
    return isinstance(ds, TensorImageDataset)


# A dataset kept on the GPU for the whole run may take this share of the free
# device memory; larger ones stay on the host and are copied batch by batch.
GPU_RESIDENT_SHARE = 0.25


class _IndexedSource:
    """Gathers batches of an indexed dataset, on the GPU when it fits there.

    On CUDA the images (uint8 when the dataset stores them so) are copied to the
    device once and every batch is gathered there, so the step reads nothing
    from the host but one permutation per epoch.
    """

    def __init__(self, ds: TensorImageDataset, device: torch.device | None) -> None:
        self.ds = ds
        self.device = None
        if device is not None and device.type == "cuda":
            storage, labels = ds.storage()
            free, _ = torch.cuda.mem_get_info(device)
            if storage.numel() * storage.element_size() <= GPU_RESIDENT_SHARE * free:
                self.device = device
                self.storage = storage.to(device)
                self.labels = labels.to(device)

    def index(self, idx: torch.Tensor) -> torch.Tensor:
        return idx.to(self.device) if self.device is not None else idx

    def batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.device is None:
            return self.ds.batch(idx)
        return self.ds.from_storage(self.storage, self.labels, idx)


def _loader_rng(n: int, generator: torch.Generator | None) -> None:
    """The random numbers a DataLoader over ``RandomSampler(ds, generator)``
    consumes besides the permutation it uses: one int64 of the global RNG per
    pass (``generator=None``: its workers' base seed), and one more
    ``randperm(n)`` of the sampler's generator at the end of each pass (its
    empty remainder, drawn when the batch sampler looks past the last batch).

    Replaying them keeps dropout and drop-path masks and the batch order of
    datasets that used to go through a DataLoader (image folders before the
    decoded cache) identical to the records made then.
    """
    if generator is None:
        torch.empty((), dtype=torch.int64).random_()
    else:
        torch.randperm(n, generator=generator)


def infinite_batches(
    ds: Dataset,
    batch_size: int,
    generator: torch.Generator,
    *,
    labelled: bool,
    num_workers: int = 0,
    pin_memory: bool = False,
    device: torch.device | None = None,
) -> Iterator[Batch]:
    """Endless shuffled batches: each pass is ``torch.randperm(n, generator)``
    cut into full batches (the last partial batch is dropped), the order a
    DataLoader over ``RandomSampler(ds, generator=generator)`` gives.

    Indexed datasets (in memory or memory-mapped) are gathered by index, on
    ``device`` when it is a GPU they fit on; anything else goes through a
    DataLoader with ``num_workers`` worker processes.
    """
    n = len(ds)  # type: ignore[arg-type]
    if n == 0:
        raise ValueError("cannot draw batches from an empty dataset")
    bs = min(batch_size, n)
    if _is_indexed(ds):
        src = _IndexedSource(ds, device)  # type: ignore[arg-type]
        replay = ds.replays_loader_rng  # type: ignore[attr-defined]
        while True:
            if replay:
                _loader_rng(n, None)
            perm = src.index(torch.randperm(n, generator=generator))
            for start in range(0, n - bs + 1, bs):
                x, y = src.batch(perm[start : start + bs])
                yield Batch(x, y if labelled else None)
            if replay:
                _loader_rng(n, generator)
    else:
        loader = DataLoader(
            ds,
            batch_size=bs,
            sampler=RandomSampler(ds, generator=generator),
            drop_last=True,
            num_workers=num_workers,
            pin_memory=pin_memory,
            persistent_workers=num_workers > 0,
        )
        while True:
            for x, y in loader:
                yield Batch(x, y if labelled else None)


def ordered_batches(ds: Dataset, batch_size: int, num_workers: int = 0) -> Iterator[Batch]:
    """One ordered pass with labels, for evaluation."""
    if _is_indexed(ds):
        if ds.replays_loader_rng:  # type: ignore[attr-defined]
            _loader_rng(len(ds), None)  # type: ignore[arg-type]
        for start in range(0, len(ds), batch_size):  # type: ignore[arg-type]
            idx = torch.arange(start, min(start + batch_size, len(ds)))  # type: ignore[arg-type]
            yield Batch(*ds.batch(idx))  # type: ignore[attr-defined]
    else:
        for x, y in DataLoader(ds, batch_size=batch_size, num_workers=num_workers):
            yield Batch(x, y)
