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

from ..errors import StoreCorruptError, StoreError
from ._sqlite_schema import SCHEMA_VERSION, check_identity, prepare

__all__ = ["check_file", "connect", "inspect"]

logger = logging.getLogger(__name__)

_SQLITE_HEADER = b"SQLite format 3\x00"
#: Checkpoint the WAL into the database every this many pages (4 KiB each). SQLite's
#: default of 1000 makes checkpoints a third of the ingest cost; 10 000 (~40 MiB of WAL)
#: lets repeated writes of the same pages be copied once.
_CHECKPOINT_PAGES = 10_000
#: Truncate the WAL file back to this size (bytes) after a checkpoint.
_WAL_SIZE_LIMIT = 64 * 1024 * 1024
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
    flags = "mode=ro" if wal.exists() else "mode=ro&immutable=1"
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
        raise StoreError(f"{path}: cannot open the store: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        raise StoreCorruptError(f"{path}: unreadable store file ({exc}){_LEFT}") from exc
    finally:
        conn.close()


def connect(path: Path, *, synchronous: str, busy_timeout: float) -> sqlite3.Connection:
    """Open *path* in WAL mode, check its integrity and bring its schema up to date."""
    try:
        conn = sqlite3.connect(
            path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot open the store: {exc}") from exc
    try:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(f"{path}: cannot switch to WAL mode (journal mode {mode})")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute(f"PRAGMA wal_autocheckpoint = {_CHECKPOINT_PAGES}")
        conn.execute(f"PRAGMA journal_size_limit = {_WAL_SIZE_LIMIT}")
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
