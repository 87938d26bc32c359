"""Hyperparameter search distributions and seeded trial draws.

DomainBed's protocol (Gulrajani & Lopez-Paz, "In Search of Lost Domain
Generalization", ICLR 2021): every method declares a distribution next to each
hyperparameter's default; trial ``hparams_seed = 0`` is the defaults and trial
``k > 0`` draws every searched value from an RNG seeded on ``(k, method,
name)``. Seeding per name means adding a hyperparameter never shifts the draws
of the others, and trial ``k`` is the same trial on every machine (the seed is
a SHA-256 of the text, not Python's salted ``hash``).

Drawn floats are rounded to 4 significant digits so records and suite files
stay readable; the rounded value is the one trained with and recorded.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np


def trial_rng(hparams_seed: int, method: str, name: str) -> np.random.Generator:
    """The RNG for one searched value of one trial; platform-independent."""
    digest = hashlib.sha256(f"{hparams_seed}|{method}|{name}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _round(x: float) -> float:
    return float(f"{x:.4g}")


@dataclass(frozen=True)
class LogUniform:
    """``10 ** U(log10 low, log10 high)``: for rates and loss weights."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not 0 < self.low < self.high:
            raise ValueError(f"log-uniform needs 0 < low < high, got [{self.low}, {self.high}]")

    def draw(self, rng: np.random.Generator) -> float:
        return _round(10 ** rng.uniform(math.log10(self.low), math.log10(self.high)))

    def contains(self, value: Any) -> bool:
        return self.low <= value <= self.high

    def describe(self) -> str:
        return f"log-uniform[{self.low:g}, {self.high:g}]"


@dataclass(frozen=True)
class Uniform:
    """``U(low, high)``."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not self.low < self.high:
            raise ValueError(f"uniform needs low < high, got [{self.low}, {self.high}]")

    def draw(self, rng: np.random.Generator) -> float:
        return _round(rng.uniform(self.low, self.high))

    def contains(self, value: Any) -> bool:
        return self.low <= value <= self.high

    def describe(self) -> str:
        return f"uniform[{self.low:g}, {self.high:g}]"


@dataclass(frozen=True)
class Choice:
    """One of a fixed set of options, uniformly."""

    options: tuple[Any, ...]

    def __post_init__(self) -> None:
        if not self.options:
            raise ValueError("choice needs at least one option")

    def draw(self, rng: np.random.Generator) -> Any:
        return self.options[int(rng.integers(len(self.options)))]

    def contains(self, value: Any) -> bool:
        return value in self.options

    def describe(self) -> str:
        return "choice{" + ", ".join(map(str, self.options)) + "}"


Distribution = LogUniform | Uniform | Choice


def draw_trial(hparams_seed: int, method: str, space: dict[str, Distribution]) -> dict[str, Any]:
    """Values of every searched name for trial ``hparams_seed`` (``{}`` for trial 0:
    the defaults)."""
    if hparams_seed < 0:
        raise ValueError(f"hparams_seed must be >= 0, got {hparams_seed}")
    if hparams_seed == 0:
        return {}
    return {name: dist.draw(trial_rng(hparams_seed, method, name)) for name, dist in space.items()}
