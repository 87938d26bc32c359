"""How a run's few-shot protocol shows in leaderboards (no heavy imports)."""

from __future__ import annotations

from typing import Any


def protocol_label(method: str, config: dict[str, Any]) -> str:
    """``method`` for ordinary runs; ``method (k-shot)`` or ``method (k-shot n-way)``
    for few-shot ones, so settings with different k are never pooled into one row."""
    data = (config or {}).get("data") or {}
    shots = data.get("shots") or 0
    if not shots:
        return method
    ways = data.get("ways") or 0
    return f"{method} ({shots}-shot{f' {ways}-way' if ways else ''})"
