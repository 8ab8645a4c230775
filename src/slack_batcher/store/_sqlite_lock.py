"""One process per store file: an advisory lock beside the database.

Two service processes flushing the same SQLite file would each recover and flush the same
batches, posting them twice. So a store takes an exclusive ``flock`` on ``<file>.lock``; the
operating system drops it when the process dies (even by ``kill -9``), so a crash never
leaves a stale lock behind. Inside one process, several stores may open the same file
(a test reopening the file to simulate a restart): the lock is shared and counted.

Sharing state between instances is the Redis store's job (see ``docs/store.md``).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from ..errors import StoreError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock; the file is not guarded
    fcntl = None  # type: ignore[assignment]

__all__ = ["acquire", "release"]

_held: dict[str, tuple[int, int]] = {}  # lock path → (fd, number of holders)
_guard = threading.Lock()


def acquire(path: Path) -> str:
    """Take the process lock of the store at *path*; return the key to :func:`release` it.

    Raises :class:`~slack_batcher.errors.StoreError` naming the path when another process
    holds it.
    """
    key = str(path.resolve()) + ".lock"
    with _guard:
        held = _held.get(key)
        if held is not None:
            _held[key] = (held[0], held[1] + 1)
            return key
        try:
            fd = os.open(key, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"{path}: cannot create the lock file {key}: {exc}") from exc
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise StoreError(
                    f"{path}: in use by another process (it holds {key}); a SQLite store "
                    "serves one process — share state between instances with the Redis store"
                ) from None
        _held[key] = (fd, 1)
        return key


def release(key: str) -> None:
    """Drop one holder of the lock *key*; the last one unlocks and closes it."""
    with _guard:
        held = _held.get(key)
        if held is None:
            return
        fd, holders = held
        if holders > 1:
            _held[key] = (fd, holders - 1)
            return
        del _held[key]
        os.close(fd)  # closing the descriptor releases the flock
