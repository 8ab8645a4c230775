"""Opening a SQLite store file: refuse what is not ours, check integrity, set pragmas.

Every refusal names the path; a bad file is left exactly as it was found: an existing file
is inspected through a read-only connection (:func:`inspect`) before anything writes to
it, so another application's database is never switched to WAL mode or given a lock.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

from ...model.errors import StoreCorruptError, StoreError, StoreFullError
from .disk import WAL_SIZE_LIMIT, wal_budget_pages, write_failure
from .schema import APPLICATION_ID, SCHEMA_VERSION, check_identity, prepare

__all__ = ["check_file", "connect", "inspect"]

logger = logging.getLogger(__name__)

_SQLITE_HEADER = b"SQLite format 3\x00"
_LEFT = "; left untouched: restore it from a backup, or move it aside to start empty"


def check_file(path: Path) -> None:
    """Refuse a path that cannot hold a store: a directory, no permission, not SQLite."""
    if path.is_dir():
        raise StoreError(f"{path}: is a directory; give the path of a store file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"{path}: cannot create its directory: {exc}") from exc
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise StoreError(
            f"{path}: no write permission on the directory {path.parent} "
            "(SQLite needs it for the -wal and -shm files)"
        )
    if not path.exists():
        return
    if not os.access(path, os.R_OK | os.W_OK):
        raise StoreError(f"{path}: no read and write permission on the store file")
    try:
        with path.open("rb") as file:
            header = file.read(len(_SQLITE_HEADER))
    except OSError as exc:
        raise StoreError(f"{path}: cannot read the store file: {exc}") from exc
    if header and header != _SQLITE_HEADER:
        raise StoreCorruptError(f"{path}: not a SQLite database (bad header); refusing it")


def inspect(path: Path) -> None:
    """Refuse an existing file that is not a healthy slack-batcher store, writing nothing.

    The file is read through a read-only connection: ``immutable`` when no WAL file lies
    beside it (then SQLite creates no ``-wal``/``-shm`` files either), a plain read-only one
    otherwise, so that committed transactions still in the WAL are seen.
    """
    try:
        if path.stat().st_size == 0:
            return
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StoreError(f"{path}: cannot read the store file: {exc}") from exc
    wal = path.with_name(path.name + "-wal")
    try:
        wal_in_use = wal.stat().st_size > 0
    except FileNotFoundError:
        wal_in_use = False
    flags = "mode=ro" if wal_in_use else "mode=ro&immutable=1"
    uri = f"{path.resolve().as_uri()}?{flags}"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot open the store: {exc}") from exc
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        check_identity(conn, path, app_id, version)
        problems = [r[0] for r in conn.execute("PRAGMA quick_check(5)")]
        if problems != ["ok"]:
            raise StoreCorruptError(f"{path}: damaged store file ({'; '.join(problems)}){_LEFT}")
    except sqlite3.OperationalError as exc:
        if _header_is_ours(path) and isinstance(write_failure(path, "", exc), StoreFullError):
            return  # a full disk: reading the WAL needs its index; connect() copes with it
        raise StoreError(f"{path}: cannot open the store: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        raise StoreCorruptError(f"{path}: unreadable store file ({exc}){_LEFT}") from exc
    finally:
        conn.close()


def _header_is_ours(path: Path) -> bool:
    """Return True when the file's header carries slack-batcher's application id."""
    try:
        with path.open("rb") as file:
            header = file.read(72)
    except OSError:
        return False
    return len(header) == 72 and int.from_bytes(header[68:72], "big") == APPLICATION_ID


def connect(
    path: Path, *, synchronous: str, busy_timeout: float
) -> tuple[sqlite3.Connection, str | None]:
    """Open *path* in WAL mode, check its integrity and bring its schema up to date.

    Returns the connection and, when the disk is full, why it was opened *degraded*: the
    WAL index cannot be created or grown on a full disk, so the file is opened in SQLite's
    exclusive locking mode (the index lives in memory; this process holds the file anyway).
    Reads work, so the outbox can be delivered; writes fail with a clear error until
    space is freed.
    """
    try:
        return _connect(path, synchronous, busy_timeout, exclusive=False), None
    except StoreError as exc:
        cause = exc.__cause__
        if not isinstance(cause, sqlite3.OperationalError):
            raise
        if not isinstance(write_failure(path, "opening", cause), StoreFullError):
            raise
        reason = str(write_failure(path, "opening the store", cause))
    conn = _connect(path, synchronous, busy_timeout, exclusive=True)
    logger.error("%s; opened it read-only in effect: undelivered posts are delivered", reason)
    return conn, reason


def _connect(
    path: Path, synchronous: str, busy_timeout: float, *, exclusive: bool
) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(
            path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot open the store: {exc}") from exc
    try:
        if exclusive:
            conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(f"{path}: cannot switch to WAL mode (journal mode {mode})")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        # Zero deleted content only on pages written anyway: a build's default (ON, e.g.
        # Debian's) writes every freed page again, ~270 KB of WAL to ack a post of five
        # 50 KB events (16 KB with FAST), room a full disk keeps for delivery.
        conn.execute("PRAGMA secure_delete = FAST")
        conn.execute(f"PRAGMA wal_autocheckpoint = {wal_budget_pages(path)}")
        conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
        found = prepare(conn, path)
    except BaseException as exc:
        conn.close()
        if isinstance(exc, sqlite3.OperationalError):
            raise StoreError(f"{path}: cannot open the store: {exc}") from exc
        if isinstance(exc, sqlite3.DatabaseError):
            raise StoreCorruptError(f"{path}: unreadable store file ({exc}){_LEFT}") from exc
        raise
    if found < SCHEMA_VERSION:
        logger.info("store %s: schema version %d → %d", path, found, SCHEMA_VERSION)
    return conn
