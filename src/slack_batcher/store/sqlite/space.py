"""Room on the store's volume: a reserve file and a gate that stops intake before it is full.

SQLite cannot take back a commit that hit a full disk: it rolls the whole transaction back
(a group commit of a whole event-loop turn, acknowledgements included), and a WAL full of
pages the database does not have yet cannot even be checkpointed. So the store never lets
new events fill the volume:

* **The gate** (:meth:`DiskSpace.admit`): each accepted event is charged its size; when
  the charges use up half of the room measured last, the room is measured again —
  ``statvfs`` free bytes, plus the free pages inside the database (new rows reuse them),
  minus the pages the WAL holds beyond the database file's end (the next checkpoint
  writes them there). Below
  :data:`HEADROOM_BYTES` the store is *short of space*: new events are refused with
  :class:`~slack_batcher.model.errors.StoreFullError` before anything is written, while
  what drains the store — flushes, delivery progress, acknowledgements, the digest and
  thread maps, checkpoints — goes on in the headroom.
* **The reserve** (``<file>-reserve``, :data:`RESERVE_BYTES`, preallocated): released when
  a write fails for lack of space anyway (another program filled the volume) or when a
  restart finds the disk full, so acknowledgements and the checkpoint still find room.
* **Recovery** (:meth:`DiskSpace.recover`, run by the writability probe and after each
  checkpoint): once the room is back to :data:`RECOVER_BYTES` (the outbox drained: its
  pages are free inside the file) and the reserve could be allocated again, events are
  accepted.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from ...model.errors import StoreFullError
from .disk import free_bytes, mib

__all__ = ["HEADROOM_BYTES", "RESERVE_BYTES", "DiskSpace"]

MIB = 1024 * 1024
#: The preallocated file released when the disk fills anyway.
RESERVE_BYTES = 1 * MIB
#: The room kept free for draining: new events are refused below it.
HEADROOM_BYTES = 1 * MIB
#: The room at which events are accepted again: a drained outbox (its pages free inside
#: the file), freed space, or a truncated WAL that had grown past it (up to 4 MiB) gives it.
RECOVER_BYTES = 3 * HEADROOM_BYTES
#: Pages the WAL may hold before a checkpoint while the store is short of space.
SHORT_CHECKPOINT_PAGES = 64


class DiskSpace:
    """The reserve file and the intake gate of one store file (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.reserve_path = path.with_name(path.name + "-reserve")
        #: Why new events are refused (the volume is nearly full), or None.
        self.shortage: str | None = None
        self._budget = 0  # bytes that may be charged before the room is measured again

    # ---------------------------------------------------------------- reserve

    def has_reserve(self) -> bool:
        """Return True when the reserve file is allocated in full."""
        try:
            return self.reserve_path.stat().st_blocks * 512 >= RESERVE_BYTES
        except FileNotFoundError:
            return False

    def allocate_reserve(self) -> bool:
        """Allocate the reserve file (if missing); False when the volume has no room for it."""
        if self.has_reserve():
            return True
        try:
            fd = os.open(self.reserve_path, os.O_WRONLY | os.O_CREAT, 0o600)
        except OSError:
            return False
        try:
            os.posix_fallocate(fd, 0, RESERVE_BYTES)
        except OSError:
            os.close(fd)
            self.release_reserve()
            return False
        os.close(fd)
        return True

    def release_reserve(self) -> bool:
        """Delete the reserve file, giving its room to the store; True if there was one."""
        try:
            self.reserve_path.unlink()
        except FileNotFoundError:
            return False
        except OSError:
            return False
        return True

    # ------------------------------------------------------------------- gate

    def room(self, conn: sqlite3.Connection) -> tuple[int, int]:
        """Return (the bytes the store can still fill, the volume's free bytes)."""
        free = free_bytes(self.path)
        if free is None:
            return (HEADROOM_BYTES * 4, HEADROOM_BYTES * 4)  # unknown: never refuse for it
        page_size, pages, freelist = conn.execute(
            "SELECT * FROM pragma_page_size, pragma_page_count, pragma_freelist_count"
        ).fetchone()
        size = 0
        with contextlib.suppress(OSError):
            size = self.path.stat().st_size
        growth = max(0, int(page_size) * int(pages) - size)  # WAL pages beyond the file's end
        return free + int(page_size) * int(freelist) - growth, free

    def admit(self, conn: sqlite3.Connection, cost: int) -> None:
        """Charge *cost* bytes for a new event; raise StoreFullError when there is no room."""
        if self.shortage is not None:
            raise StoreFullError(self.shortage)
        self._budget -= cost
        if self._budget >= 0:
            return
        room, free = self.room(conn)
        self._budget = (room - HEADROOM_BYTES) // 2
        if self._budget < cost:
            self.short(conn, f"{mib(room)} left for the store ({mib(free)} free)")
            raise StoreFullError(self.shortage)

    def charge(self, cost: int) -> None:
        """Charge *cost* bytes written by what drains the store (never refused)."""
        self._budget -= cost

    def short(self, conn: sqlite3.Connection | None, why: str) -> None:
        """Refuse new events from now on (until :meth:`recover`), saying *why*."""
        self.shortage = (
            f"{self.path}: the disk is full for new events ({why}; {mib(HEADROOM_BYTES)} is "
            "kept for delivery): they are refused until space is freed or the outbox drains; "
            "undelivered posts are still delivered"
        )
        self._budget = 0
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.execute(f"PRAGMA wal_autocheckpoint = {SHORT_CHECKPOINT_PAGES}")

    def recover(self, conn: sqlite3.Connection) -> bool:
        """Accept events again once there is room and the reserve is back; True if so."""
        if self.shortage is None:
            return True
        room, _ = self.room(conn)
        if room < RECOVER_BYTES or not self.allocate_reserve():
            return False
        self.shortage = None
        self._budget = 0  # measure again at the next event
        return True
