"""One lock per run key, so processes sharing a results directory never run the
same key twice.

:func:`dabench.api.run` takes the lock before it checks whether the key is
recorded and holds it until the record is written; whatever launches runs (a
loop, a process pool, Ray workers on one file system) gets this for free. The
lock is an ``fcntl.flock`` on ``results/.locks/<run_key>.lock``: the kernel
drops it when the holder exits, even on SIGKILL, so a crash never leaves a key
locked. The lock files themselves stay (empty) and are harmless.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from dabench.names import child

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no cross-process lock
    fcntl = None  # type: ignore[assignment]

LOCKS_DIR = ".locks"


class RunningElsewhere(Exception):
    """Another process holds the lock of this run key (it is running it now)."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"{run_id} is running elsewhere")
        self.run_id = run_id


def lock_path(results: Path, run_id: str) -> Path:
    return child(Path(results) / LOCKS_DIR, run_id, "run key", ".lock")


@contextlib.contextmanager
def run_lock(results: Path, run_id: str, wait: bool = False) -> Iterator[None]:
    """Hold the lock of ``run_id`` for the block. Raises :class:`RunningElsewhere`
    if another process holds it, unless ``wait`` (then block until it is free)."""
    path = lock_path(results, run_id)
    path.parent.mkdir(exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                raise RunningElsewhere(run_id) from None
        yield
    finally:
        # Closing the descriptor releases the lock.
        os.close(fd)
