"""Third-party methods, pairs and backbones, registered through entry points.

A distribution declares entry points in the groups ``dabench.methods``,
``dabench.pairs`` or ``dabench.backbones``; each names a module (or an object
in one). Loading it imports that module, whose ``@register`` /
``PAIRS.add`` / ``BACKBONES.add`` calls fill the registries as built-in ones
do, and the registry remembers the distribution as the entry's origin. A
plugin that fails to import or to register logs one warning naming it and is
skipped: a broken plugin never stops the CLI.
"""

from __future__ import annotations

import logging
from importlib.metadata import EntryPoint, entry_points

from dabench.registry import registering_from

log = logging.getLogger(__name__)

GROUPS = ("dabench.methods", "dabench.pairs", "dabench.backbones")
_loaded: set[tuple[str, str, str]] = set()


def _dist_name(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return dist.name if dist is not None else ep.value.split(":")[0]


def load_plugins(groups: tuple[str, ...] = GROUPS) -> list[str]:
    """Load every not-yet-loaded entry point of ``groups``; returns the
    ``group:name`` of those that failed (each also logged as one warning)."""
    # The built-in registries fill first: a plugin module importing dabench
    # must not have the built-ins registered under its name.
    import dabench.data  # noqa: F401
    import dabench.methods  # noqa: F401
    import dabench.models  # noqa: F401

    failed = []
    for group in groups:
        for ep in entry_points(group=group):
            key = (group, ep.name, ep.value)
            if key in _loaded:
                continue
            _loaded.add(key)
            dist = _dist_name(ep)
            try:
                with registering_from(dist):
                    ep.load()
            except Exception as e:  # any failure of third-party code: warn, go on
                msg = str(e).splitlines()[0] if str(e) else ""
                log.warning(
                    "plugin %s (%s, from %s) not loaded: %s: %s",
                    ep.name,
                    group,
                    dist,
                    type(e).__name__,
                    msg,
                )
                failed.append(f"{group}:{ep.name}")
    return failed
