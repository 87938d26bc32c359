"""One generic registry for methods, pairs, backbones and selection rules."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

from dabench.errors import UserError

T = TypeVar("T")

BUILTIN = "built-in"
# Where registrations come from right now: "built-in", or the distribution
# name of the plugin being loaded (set by dabench.plugins while it imports one).
_origin = [BUILTIN]


@contextmanager
def registering_from(origin: str) -> Iterator[None]:
    """Mark every registration made inside the block as coming from ``origin``."""
    _origin.append(origin)
    try:
        yield
    finally:
        _origin.pop()


class Registry(Generic[T]):
    """A name -> object table filled by decorator.

    Duplicate names raise at import time (a programming error); unknown names
    raise :class:`UserError` listing the closest registered names.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._origins: dict[str, str] = {}

    def register(self, name: str | None = None) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            key = name or getattr(obj, "name", None)
            if not key:
                raise ValueError(f"cannot register {obj!r} as a {self.kind}: no name")
            self.add(key, obj)
            return obj

        return deco

    def add(self, name: str, obj: T) -> None:
        if name in self._items:
            raise ValueError(f"duplicate {self.kind} name {name!r}")
        if name != name.lower() or " " in name:
            raise ValueError(f"{self.kind} names are lower snake case, got {name!r}")
        self._items[name] = obj
        self._origins[name] = _origin[-1]

    def origin(self, name: str) -> str:
        """``"built-in"`` or the name of the plugin distribution that registered ``name``."""
        self.get(name)
        return self._origins.get(name, BUILTIN)

    def replace(self, name: str, obj: T) -> None:
        """Swap what ``name`` stands for (a user file edited while running)."""
        if name not in self._items:
            raise KeyError(name)
        self._items[name] = obj

    def get(self, name: str) -> T:
        if not isinstance(name, str):
            raise UserError(f"a {self.kind} name must be a string, got {name!r}")
        try:
            return self._items[name]
        except KeyError:
            raise UserError(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        close = difflib.get_close_matches(name, self.names(), n=3, cutoff=0.5)
        hint = (
            f"did you mean {', '.join(repr(c) for c in close)}?"
            if close
            else f"choose one of: {', '.join(self.names())}"
        )
        return f"unknown {self.kind} {name!r}; {hint} (see `dabench list {self.kind}s`)"

    def names(self) -> list[str]:
        return sorted(self._items)

    def items(self) -> Iterator[tuple[str, T]]:
        for name in self.names():
            yield name, self._items[name]

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __len__(self) -> int:
        return len(self._items)
