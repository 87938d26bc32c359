"""One generic registry for methods, pairs, backbones and selection rules."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from dabench.errors import UserError

T = TypeVar("T")


class Registry(Generic[T]):
    """A name -> object table filled by decorator.

    Duplicate names raise at import time (a programming error); unknown names
    raise :class:`UserError` listing the closest registered names.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

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
