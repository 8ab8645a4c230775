"""The SQLite store's file: opening and locking it, transactions, group commits, upkeep.

:class:`SQLiteFile` is the part of :class:`~slack_batcher.store.SQLiteStore` that knows
nothing of batches: one connection to one file (opened by ``_sqlite_open``, locked by
``_sqlite_lock``), serialised by a lock, with the transaction shapes the store's methods
use and the maintenance the service runs (checkpoints, the writability probe).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Literal, Self

from ...model.errors import StoreError, StoreFullError
from . import disk
from . import lock as process_lock
from .opening import check_file, connect, inspect
from .space import HEADROOM_BYTES, RESERVE_BYTES, DiskSpace

__all__ = ["PROBE_BYTES", "SQLiteFile"]

#: How much room a write needs for the store to count as writable again (bytes).
PROBE_BYTES = 64 * 1024
_PROBE_WRITE = (
    "INSERT OR REPLACE INTO threads (thread_key, ts, expires_at)"
    f" VALUES ('~probe', zeroblob({PROBE_BYTES}), '')"
)

Step = tuple[str, Sequence[object]]

logger = logging.getLogger(__name__)


class SQLiteFile:
    """One SQLite store file, its connection, its lock and its transactions."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        busy_timeout: float = 5.0,
    ) -> None:
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous: must be 'NORMAL' or 'FULL', got {synchronous!r}")
        self.path = Path(path)
        self.synchronous = synchronous
        self._lock = threading.RLock()
        self._depth = 0  # open groups (transaction() blocks, begin_group() calls)
        self._group_error: sqlite3.Error | None = None  # a group that lost part of its work
        # Pending batch id → its row's seq, so a message joining it is one plain INSERT.
        # Dropped whenever a transaction is rolled back (seqs of rolled-back rows are reused).
        self._seqs: dict[str, int] = {}
        self._failure: str | None = None  # why the last write failed; None once one works
        self._space = DiskSpace(self.path)
        self._last_probe = 0.0
        check_file(self.path)
        inspect(self.path)  # read-only: a foreign or damaged file is refused untouched
        self._lock_key = process_lock.acquire(self.path)
        try:
            conn, degraded = self._connect(synchronous, busy_timeout)
        except BaseException:
            process_lock.release(self._lock_key)
            raise
        self._conn: sqlite3.Connection | None = conn
        self._failure = degraded
        if degraded is not None:
            self._space.short(conn, "the disk was full at the start")
        elif not self._space.allocate_reserve():
            self._space.short(conn, f"no room for the {disk.mib(RESERVE_BYTES)} reserve")
        elif self._space.room(conn)[0] < HEADROOM_BYTES:
            self._space.short(conn, f"less than {disk.mib(HEADROOM_BYTES)} left at the start")

    def _connect(
        self, synchronous: Literal["NORMAL", "FULL"], busy_timeout: float
    ) -> tuple[sqlite3.Connection, str | None]:
        """Open the file; on a full disk, release the reserve first (see ``connect``)."""
        try:
            conn, degraded = connect(self.path, synchronous=synchronous, busy_timeout=busy_timeout)
        except StoreError as exc:  # a migration found no room: the reserve's room is for it
            cause = exc.__cause__
            full = isinstance(cause, sqlite3.Error) and isinstance(
                disk.write_failure(self.path, "opening", cause), StoreFullError
            )
            if not full or not self._space.release_reserve():
                raise
            return connect(self.path, synchronous=synchronous, busy_timeout=busy_timeout)
        if degraded is not None and self._space.release_reserve():
            conn.close()  # the reserve's room lets the WAL index be made: open normally
            conn, degraded = connect(self.path, synchronous=synchronous, busy_timeout=busy_timeout)
        return conn, degraded

    @property
    def write_error(self) -> str | None:
        """Why writes fail or new events are refused (a full disk, …); None while they work."""
        return self._space.shortage or self._failure

    # ------------------------------------------------------------ transactions

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group every store call made inside the block into one commit (group commit).

        Each call inside still succeeds or fails whole (a savepoint), and one that fails
        leaves the others in place; the block only *defers the commit* to its exit, where
        everything done inside becomes durable at once, even when the block raises. A kill
        inside the block loses the whole group, so acknowledge the messages added inside
        (e.g. answer the HTTP request) only after the block exits. Store calls made by
        other threads meanwhile join the group too. Nested blocks join the outer one.
        """
        self.begin_group()
        try:
            yield
        finally:
            self.commit_group()

    def begin_group(self) -> None:
        """Open a group commit (see :meth:`transaction`) without a ``with`` block.

        Until the matching :meth:`commit_group`, every store call — from any thread — joins
        the group. The service opens one per event-loop turn and commits it before any
        request of that turn is answered.
        """
        with self._lock:
            conn = self._open_connection()
            if self._depth == 0:
                self._begin(conn, "starting a group commit")
            self._depth += 1

    def commit_group(self) -> None:
        """Close the group opened by :meth:`begin_group`; the outermost one commits.

        Raises :class:`~slack_batcher.model.errors.StoreError` when the commit fails: then
        nothing done inside the group was stored.
        """
        with self._lock:
            conn = self._open_connection()
            self._depth -= 1
            if self._depth:
                return
            self._commit(conn, "committing a group")
            lost, self._group_error = self._group_error, None
            if lost is not None:  # what came after the failure is committed; the rest is not
                raise self._write_failed("a change in a group commit", lost)

    def _steps(self, action: str, steps: Sequence[Step]) -> list[sqlite3.Cursor]:
        """Run *steps* (statement, parameters) as one atomic change; return their cursors.

        Outside a group: ``BEGIN IMMEDIATE`` … ``COMMIT``. Inside one, no savepoint: the
        store orders each change so that only its first statement can fail on its data (a
        duplicate id); a later statement fails only when the disk or the file does, and then
        the whole group is rolled back (:meth:`commit_group` raises), never half a change.
        """
        with self._lock:
            conn = self._open_connection()
            grouped = self._depth > 0
            done = 0
            try:
                if not grouped:
                    conn.execute("BEGIN IMMEDIATE")
                cursors = []
                for sql, params in steps:
                    cursors.append(conn.execute(sql, params))
                    done += 1
                if not grouped:
                    conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._drop_caches()
                if not grouped:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                elif done:
                    self._abort_group(conn, exc)
                raise self._write_failed(action, exc) from exc
            self._failure = None
            return cursors

    def _abort_group(self, conn: sqlite3.Connection, exc: sqlite3.Error) -> None:
        """Roll the open group back (it holds part of a change); later calls start anew."""
        self._group_error = exc
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error:
            pass  # commit_group reports the loss; calls meanwhile commit one by one

    @contextmanager
    def _transaction(self, action: str) -> Iterator[sqlite3.Connection]:
        """Run the body as one IMMEDIATE transaction (a savepoint inside a group)."""
        with self._lock:
            conn = self._open_connection()
            grouped = self._depth > 0
            try:
                conn.execute("SAVEPOINT change" if grouped else "BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    self._drop_caches()
                    conn.execute("ROLLBACK TO change" if grouped else "ROLLBACK")
                    if grouped:
                        conn.execute("RELEASE change")
                    raise
                conn.execute("RELEASE change" if grouped else "COMMIT")
                self._failure = None
            except sqlite3.Error as exc:
                self._drop_caches()
                if conn.in_transaction and not grouped:
                    conn.execute("ROLLBACK")
                raise self._write_failed(action, exc) from exc
            except (TypeError, ValueError) as exc:  # rolled back above: not JSON-encodable
                raise StoreError(f"{self.path}: {action} failed: cannot encode: {exc}") from exc

    def _statement(self, action: str, sql: str, params: tuple[object, ...]) -> sqlite3.Cursor:
        """Run one statement as its own transaction (SQLite makes a statement atomic).

        Cheaper than :meth:`_transaction` (no BEGIN / COMMIT round trips); inside a group
        it joins the group's transaction.
        """
        with self._lock:
            conn = self._open_connection()
            try:
                cursor = conn.execute(sql, params)
            except sqlite3.Error as exc:
                self._drop_caches()  # a full disk or I/O error may roll a group back whole
                if self._depth and not conn.in_transaction:
                    self._abort_group(conn, exc)
                raise self._write_failed(action, exc) from exc
            self._failure = None
            return cursor

    def _begin(self, conn: sqlite3.Connection, action: str) -> None:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._write_failed(action, exc) from exc

    def _commit(self, conn: sqlite3.Connection, action: str) -> None:
        try:
            conn.execute("COMMIT")
            self._failure = None
        except sqlite3.Error as exc:
            self._drop_caches()
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise self._write_failed(action, exc) from exc

    @contextmanager
    def _reading(self, action: str) -> Iterator[sqlite3.Connection]:
        """Run the body's reads as one snapshot (a deferred read transaction)."""
        with self._lock:
            conn = self._open_connection()
            try:
                if self._depth:  # inside a group: its transaction is the snapshot
                    yield conn
                    return
                conn.execute("BEGIN")
                try:
                    yield conn
                finally:
                    conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: {action} failed: {exc}") from exc

    def _drop_caches(self) -> None:
        """Forget what is cached from the file: a rollback may have undone any of it."""
        self._seqs.clear()

    def _write_failed(self, action: str, exc: sqlite3.Error) -> StoreError:
        error = disk.write_failure(self.path, action, exc)
        self._failure = str(error)
        if isinstance(error, StoreFullError):  # full anyway: the reserve's room goes to delivery
            released = self._space.release_reserve()
            why = "a write failed" + ("; its reserve was released" if released else "")
            self._space.short(self._conn, why)
        return error

    def admit(self, cost: int) -> None:
        """Charge a new event of *cost* bytes; raise StoreFullError when the disk has no room.

        Called before an event is written (see :class:`~.space.DiskSpace`).
        """
        with self._lock:
            self._space.admit(self._open_connection(), cost)

    def charge(self, cost: int) -> None:
        """Charge *cost* bytes written by a flush or delivery (never refused)."""
        self._space.charge(cost)

    def _open_connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"{self.path}: the store is closed")
        return self._conn

    # ------------------------------------------------------------ maintenance

    def checkpoint(self) -> int:
        """Copy the WAL into the database file, and truncate a WAL that grew large.

        Cheap when there is little to copy; the service runs it when idle and whenever its
        outbox drains, so the WAL (and the disk it needs) stays small. Skipped inside a
        group. Returns the WAL file's size in bytes afterwards.
        """
        with self._lock:
            conn = self._open_connection()
            if self._depth or conn.in_transaction:
                return -1
            short = self._space.shortage is not None
            try:
                size = disk.checkpoint(conn, self.path, truncate=short)
                if short:
                    self._recover(conn)
            except sqlite3.Error as exc:
                raise self._write_failed("checkpointing the WAL", exc) from exc
            return size

    def _recover(self, conn: sqlite3.Connection) -> None:
        """Accept events again once the disk has room (see :meth:`DiskSpace.recover`)."""
        if self._space.recover(conn):
            conn.execute(f"PRAGMA wal_autocheckpoint = {disk.wal_budget_pages(self.path)}")
            logger.warning("%s: the disk has room again: accepting events", self.path)

    def group_commits(self) -> SQLiteFile:
        """Return this store: writes between begin_group and commit_group commit as one."""
        return self

    def shared_store(self) -> None:
        """Return None: one process holds the file (a lock says so)."""
        return None

    def describe(self) -> str:
        """Say which store this is and where its file is."""
        return f"{type(self).__name__} {self.path}"

    def check_writable(self) -> str | None:
        """Return why writes fail (None when they work), probing again after a failure.

        While :attr:`write_error` is set, a probe write of :data:`PROBE_BYTES` (written and
        deleted in one transaction, so the file does not change) is tried at most once a
        second, so readiness recovers once space is freed even when no traffic arrives;
        while the store is only short of space (new events refused), a checkpoint runs
        instead, which accepts events again once the disk has room.
        """
        if self.write_error is None:
            return None
        now = time.monotonic()
        if now - self._last_probe < 1.0:
            return self.write_error
        self._last_probe = now
        with self._lock:
            conn = self._conn
            if conn is None or self._depth or conn.in_transaction:
                return self.write_error
            if self._failure is None:  # short of space: checkpoint, and accept once there is room
                with contextlib.suppress(StoreError):
                    self.checkpoint()
                return self.write_error
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(_PROBE_WRITE)
                conn.execute("DELETE FROM threads WHERE thread_key = '~probe'")
                conn.execute("COMMIT")
                self._failure = None
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                self._write_failed("writing", exc)
        return self.write_error

    # ---------------------------------------------------------------- closing

    def close(self) -> None:
        """Checkpoint and close the file and release the process lock; safe to call twice."""
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is None:
                return
            try:
                conn.close()
            finally:
                process_lock.release(self._lock_key)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
