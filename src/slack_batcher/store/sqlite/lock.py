"""One process per store file: an advisory lock on the database file itself.

Two service processes flushing the same SQLite file would each recover and flush the same
batches, posting them twice. So a store takes an exclusive ``flock`` on the database file.
The lock belongs to the file (its device and inode), not to the path it was opened by, so
a hard link, a symlink or a bind mount of the same file finds it taken. The operating
system drops it when the process dies (even by ``kill -9``), so a crash never leaves a
stale lock behind. ``flock`` and SQLite's own POSIX locks do not interfere on Linux and
the BSDs. Inside one process, several stores may open the same file (a test reopening
the file to simulate a restart): the lock is shared and counted.

Sharing state between instances is the Redis store's job (see ``docs/store.md``).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from ...model.errors import StoreError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock; the file is not guarded
    fcntl = None  # type: ignore[assignment]

__all__ = ["acquire", "release"]

LockKey = tuple[int, int]
_held: dict[LockKey, tuple[int, int]] = {}  # (device, inode) → (fd, number of holders)
_guard = threading.Lock()


def acquire(path: Path) -> LockKey:
    """Take the process lock of the store file *path* (created empty when missing).

    Returns the key to :func:`release` it. Raises :class:`~slack_batcher.model.errors.StoreError`
    naming the path when another process holds it.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(f"{path}: cannot open the store file: {exc}") from exc
    info = os.fstat(fd)
    key = (info.st_dev, info.st_ino)
    with _guard:
        held = _held.get(key)
        if held is not None:
            # Closing this second descriptor would drop SQLite's POSIX locks on the file
            # (they are per process and inode), so keep it until the lock is released.
            _held[key] = (held[0], held[1] + 1)
            _extra.setdefault(key, []).append(fd)
            return key
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise StoreError(
                    f"{path}: in use by another process (it holds a lock on the file, "
                    f"device {key[0]} inode {key[1]}); a SQLite store serves one process — "
                    "share state between instances with the Redis store"
                ) from None
        _held[key] = (fd, 1)
        return key


_extra: dict[LockKey, list[int]] = {}


def release(key: LockKey) -> None:
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
        for extra in _extra.pop(key, []):
            os.close(extra)
        os.close(fd)  # closing the descriptor releases the flock
