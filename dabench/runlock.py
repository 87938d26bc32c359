"""One lock per run key, so processes sharing a results directory never run the
same key twice.

:func:`dabench.api.run` takes the lock before it checks whether the key is
recorded and holds it until the record is written; whatever launches runs (a
loop, a process pool, Ray workers on one file system) gets this for free. The
lock is an ``fcntl.flock`` on ``results/.locks/<run_key>.lock``: the kernel
drops it when the holder exits, even on SIGKILL, so a crash never leaves a key
locked. The holder removes the file (and the folder, if empty) when done, so a
run that could not start leaves the results directory as it was; a lock file
left by a killed process is empty and harmless.
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
    fd = _acquire(path, wait)
    try:
        yield
    finally:
        # Removed while still held, so the folder is left as it was found (a
        # run that could not start leaves nothing); _acquire copes with it.
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            path.parent.rmdir()  # only if no other key is locked
        os.close(fd)  # releases the lock


def _acquire(path: Path, wait: bool) -> int:
    while True:
        path.parent.mkdir(exist_ok=True)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except FileNotFoundError:
            continue  # the folder was removed between mkdir and open
        if fcntl is None:
            return fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            raise RunningElsewhere(path.stem) from None
        # The previous holder may have removed the file after we opened it;
        # then our lock is on a file nobody else will see: start again.
        try:
            st, mine = os.stat(path), os.fstat(fd)
            if (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino):
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)
