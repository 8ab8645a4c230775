"""Disk space and the SQLite store's write-ahead log.

A commit in WAL mode appends every page it changed to ``<file>-wal``; a checkpoint copies
them into the database, after which the WAL is written from its start again. Left alone on
a small volume, the WAL filled it (16 MiB after ~900 events) and every write failed, even
after the outbox drained. So:

* the automatic checkpoint runs once the WAL holds :func:`wal_budget_pages` pages: at most
  10 000 (~40 MiB, cheap on a big disk), less on a small one — an eighth of the free space,
  and a quarter of the process's file size limit (``ulimit -f``) when there is one;
* :func:`checkpoint` (run by the service when it is idle and when the outbox drains) copies
  the WAL back with a PASSIVE checkpoint and, once the WAL file is over
  :data:`WAL_SIZE_LIMIT`, truncates it to zero with a TRUNCATE checkpoint;
* a failed write names the disk and its free space (:func:`write_failure`), and raises
  :class:`~slack_batcher.model.errors.StoreFullError` when the disk (or the size limit) is full.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

from ...model.errors import StoreError, StoreFullError

try:
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None  # type: ignore[assignment]

__all__ = [
    "WAL_SIZE_LIMIT",
    "checkpoint",
    "free_bytes",
    "mib",
    "wal_budget_pages",
    "write_failure",
]

logger = logging.getLogger(__name__)

PAGE_SIZE = 4096
#: Upper bound of the automatic checkpoint interval: SQLite's default of 1000 pages made
#: checkpoints a third of the ingest cost; 10 000 lets repeated writes of a page be copied once.
MAX_CHECKPOINT_PAGES = 10_000
MIN_CHECKPOINT_PAGES = 100
#: Over this size (bytes) the WAL file is truncated when the store checkpoints.
WAL_SIZE_LIMIT = 4 * 1024 * 1024
#: Extended result codes that mean "could not write to the disk".
_WRITE_ERRORS = ("SQLITE_FULL", "SQLITE_IOERR")


def free_bytes(path: Path) -> int | None:
    """Return the bytes free for this user on the volume holding *path* (None: unknown)."""
    try:
        info = os.statvfs(path.parent)
    except (OSError, AttributeError):
        return None
    return info.f_bavail * info.f_frsize


def _file_size_limit() -> int | None:
    if resource is None:
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    return None if soft == resource.RLIM_INFINITY else soft


def wal_budget_pages(path: Path) -> int:
    """Return the WAL size, in pages, at which SQLite checkpoints automatically."""
    budget = MAX_CHECKPOINT_PAGES * PAGE_SIZE
    free = free_bytes(path)
    if free is not None:
        budget = min(budget, free // 8)
    limit = _file_size_limit()
    if limit is not None:
        budget = min(budget, limit // 4)
    return max(MIN_CHECKPOINT_PAGES, budget // PAGE_SIZE)


def mib(size: int | None) -> str:
    """Return *size* bytes as "1.5 MiB" ("unknown" for None)."""
    return "unknown" if size is None else f"{size / 1024 / 1024:.1f} MiB"


def write_failure(path: Path, action: str, exc: sqlite3.Error) -> StoreError:
    """Return the error to raise for a failed write, saying so when the disk is full."""
    code = getattr(exc, "sqlite_errorname", "") or ""
    if code.startswith(_WRITE_ERRORS):
        free = free_bytes(path)
        limit = _file_size_limit()
        where = f"{mib(free)} free on the volume of {path.parent}"
        if limit is not None:
            where += f"; file size limit {mib(limit)}"
        full = code == "SQLITE_FULL" or (free is not None and free < WAL_SIZE_LIMIT)
        if full or limit is not None:
            return StoreFullError(
                f"{path}: {action} failed: the disk is full ({exc}, {code}; {where}): free "
                "space or grow the volume; undelivered posts are still delivered"
            )
        return StoreError(
            f"{path}: {action} failed: cannot write to the disk ({exc}, {code}; {where})"
        )
    return StoreError(f"{path}: {action} failed: {exc}")


def checkpoint(conn: sqlite3.Connection, path: Path, *, truncate: bool = False) -> int:
    """Copy the WAL into the database; truncate the WAL once it is over the limit.

    With *truncate* (the disk is short of space) the WAL is truncated whatever its size.

    Returns the WAL file's size in bytes afterwards. Run it outside a transaction.
    """
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    wal = path.with_name(path.name + "-wal")
    try:
        size = wal.stat().st_size
    except FileNotFoundError:
        return 0
    if size > WAL_SIZE_LIMIT or (truncate and size):
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if not busy:
            size = wal.stat().st_size
    conn.execute(f"PRAGMA wal_autocheckpoint = {wal_budget_pages(path)}")
    return size
