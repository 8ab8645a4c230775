"""SQLiteStore: the service's embedded durable store — one file, WAL, one transaction per change.

Guarantee (see ``docs/store.md``): every ``record_*``, ``ack``, ``update_outbox`` and
dead-letter call is one SQLite transaction that has committed when the call returns.

* ``synchronous="NORMAL"`` (default): a commit reaches the operating system before the call
  returns, so **killing the process at any instruction (kill -9, OOM kill, a crash) loses
  nothing it returned from**; an interrupted call is rolled back as a whole. After an **OS
  crash or power loss** the file is still consistent, but the last transactions since the
  previous WAL checkpoint may be rolled back (not torn).
* ``synchronous="FULL"``: each commit is also fsynced, so it survives power loss too, at the
  cost of one fsync per accepted message.

Errors name the file: :class:`~slack_batcher.model.errors.SchemaVersionError` for a newer schema,
:class:`~slack_batcher.model.errors.StoreCorruptError` for a file that is not (or no longer) a
readable slack-batcher store, :class:`~slack_batcher.model.errors.StoreError` for anything else
(a directory, no permission, a full disk, another process holding the file). A bad file is
never replaced or repaired silently.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

from ...model.batch import BatchGroup
from ...model.errors import StoreCorruptError, StoreError
from ...model.message import BatchableMessage
from .. import codec
from ..base import DeadLetter, OutboxEntry, StoredState
from .digests import SQLiteDigests
from .file import Step
from .mutes import SQLiteMutes
from .seen import SQLiteSeen

__all__ = ["SQLiteStore"]

_T = TypeVar("_T")

#: What a stored message costs beyond its JSON body (row, index entry), for the disk gate.
_ROW_BYTES = 256

_INSERT_MESSAGE = "INSERT INTO messages (batch_seq, message_id, body) VALUES (?, ?, ?)"
_INSERT_FIRST_MESSAGE = (
    "INSERT INTO messages (batch_seq, message_id, body) VALUES (last_insert_rowid(), ?, ?)"
)
_INSERT_BATCH = (
    "INSERT INTO batches (id, channel_id, batch_type, created_at, expires_at, last_activity,"
    " metadata) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_OUTBOX = f"INSERT INTO outbox ({codec.OUTBOX_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
_INSERT_DEAD_LETTER = (
    f"INSERT INTO dead_letters ({codec.DEAD_LETTER_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)"
)
# An entry with its progress row's columns, when it has one (schema version 6).
_SELECT_OUTBOX = (
    "SELECT o.seq, o.id, o.channel_id, o.batch_id, o.reason, o.flushed_at, o.due_at,"
    " coalesce(p.attempts, o.attempts),"
    " CASE WHEN p.id IS NULL THEN o.next_attempt_at ELSE p.next_attempt_at END,"
    " CASE WHEN p.id IS NULL THEN o.last_error ELSE p.last_error END,"
    " coalesce(p.state, o.state), o.message, o.messages"
    " FROM outbox AS o LEFT JOIN outbox_progress AS p ON p.id = o.id"
)
# A small row: updating the entry's own would rewrite its post and messages.
_SAVE_PROGRESS = (
    "INSERT OR REPLACE INTO outbox_progress (id, attempts, next_attempt_at, last_error, state)"
    " SELECT id, ?, ?, ?, ? FROM outbox WHERE id = ?"
)
# The slower forms, by batch id, for a batch whose row number is not cached (see _seqs).
_INSERT_MESSAGE_BY_ID = (
    "INSERT INTO messages (batch_seq, message_id, body) SELECT seq, ?, ? FROM batches WHERE id = ?"
)
_DELETE_BATCH_MESSAGES_BY_ID = (
    "DELETE FROM messages WHERE batch_seq = (SELECT seq FROM batches WHERE id = ?)"
)


class SQLiteStore(SQLiteDigests):
    """A :class:`~slack_batcher.store.BatchStore` in one SQLite file (WAL mode).

    ``SQLiteStore(path, synchronous="NORMAL", busy_timeout=5.0)``. The file and its parent
    directory are created when missing; an existing file must be a slack-batcher store. One
    process uses a file at a time (an advisory ``flock`` on the file guards it). Safe to call from
    several threads: calls are serialised by a lock.
    """

    durable = True
    keeps_batches = True

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        busy_timeout: float = 5.0,
    ) -> None:
        # Pending batch id → (message id, stored body) of its messages, so a flush writes
        # the outbox's copy of the messages without encoding them again.
        self._bodies: dict[str, list[tuple[str, str]]] = {}
        self._mutes: SQLiteMutes | None = None
        super().__init__(path, synchronous=synchronous, busy_timeout=busy_timeout)

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

    # ---------------------------------------------------------------- batches

    def load(self) -> StoredState:
        """Return the pending batches (oldest first, messages in arrival order) and the outbox."""
        with self._reading("loading") as conn:
            rows = conn.execute(
                "SELECT seq, id, channel_id, batch_type, created_at, expires_at, last_activity,"
                " metadata FROM batches ORDER BY created_at, seq"
            ).fetchall()
            bodies: dict[int, list[BatchableMessage]] = {row[0]: [] for row in rows}
            cached: dict[int, list[tuple[str, str]]] = {row[0]: [] for row in rows}
            for seq, batch_seq, message_id, body in conn.execute(
                "SELECT seq, batch_seq, message_id, body FROM messages ORDER BY seq"
            ):
                found = bodies.get(batch_seq)
                if found is None:
                    raise self._unreadable("messages", seq, "its batch is missing")
                found.append(self._decode("messages", seq, codec.message_from_body, body))
                cached[batch_seq].append((message_id, body))
            outbox = self._outbox_rows(conn, None)
        batches = [
            self._decode("batches", row[0], codec.batch_from_row, row[1:], bodies[row[0]])
            for row in rows
        ]
        self._bodies = {row[1]: cached[row[0]] for row in rows}
        self._seqs = {row[1]: row[0] for row in rows}
        return StoredState(batches=batches, outbox=outbox)

    def _unreadable(self, table: str, seq: object, problem: str) -> StoreCorruptError:
        return StoreCorruptError(
            f"{self.path}: table {table}, row seq={seq}: unreadable ({problem}); the file is "
            "left as it is: fix or delete that row with the sqlite3 shell, or restore a backup"
        )

    def _decode(self, table: str, seq: object, decode: Callable[..., _T], *args: Any) -> _T:
        """Run *decode*; a bad row becomes a StoreCorruptError naming the file and the row."""
        try:
            return decode(*args)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise self._unreadable(table, seq, f"{type(exc).__name__}: {exc}") from exc

    def record_open(self, batch: BatchGroup, message: BatchableMessage) -> None:
        """Insert *batch* and its first *message* in one transaction."""
        try:
            body = codec.message_body(message)
            row = codec.batch_row(batch)
        except (TypeError, ValueError, RecursionError) as exc:
            raise self._unencodable("recording a new batch", exc) from exc
        self.admit(len(body) + _ROW_BYTES)
        cursors = self._steps(
            "recording a new batch",
            ((_INSERT_BATCH, row), (_INSERT_FIRST_MESSAGE, (message.id, body))),
        )
        self._bodies[batch.id] = [(message.id, body)]
        seq = cursors[0].lastrowid
        if seq is not None:
            self._seqs[batch.id] = seq

    def record_add(self, batch: BatchGroup, message: BatchableMessage) -> None:
        """Append *message* to the stored *batch* in one transaction; the batch must exist."""
        try:
            body = codec.message_body(message)
        except (TypeError, ValueError, RecursionError) as exc:
            raise self._unencodable("recording a message", exc) from exc
        self.admit(len(body) + _ROW_BYTES)
        seq = self._seqs.get(batch.id)
        if seq is not None:
            cursor = self._statement(
                "recording a message", _INSERT_MESSAGE, (seq, message.id, body)
            )
        else:
            cursor = self._statement(
                "recording a message", _INSERT_MESSAGE_BY_ID, (message.id, body, batch.id)
            )
        if cursor.rowcount != 1:  # nothing was written
            raise StoreError(f"{self.path}: batch {batch.id!r} is not in the store")
        cached = self._bodies.get(batch.id)
        if cached is not None:
            cached.append((message.id, body))

    def record_flush(self, batch: BatchGroup, entry: OutboxEntry | None) -> None:
        """Delete *batch* and its messages and insert *entry* (if any) in one transaction."""
        cached = self._bodies.pop(batch.id, None)
        steps: list[Step] = []
        if entry is not None:
            encoded = None
            if cached is not None and [m.id for m in entry.messages] == [i for i, _ in cached]:
                bodies = [body for _, body in cached]
                encoded = codec.join_bodies(bodies)
                self._keep_flushed_bodies(entry.messages, bodies)
            try:
                row = codec.outbox_row(entry, encoded)
                steps.append((_INSERT_OUTBOX, row))
                self.charge(sum(len(v) for v in row if isinstance(v, str)))
            except (TypeError, ValueError, RecursionError) as exc:
                raise self._unencodable("recording a flush", exc) from exc
        seq = self._seqs.pop(batch.id, None)
        self._steps("recording a flush", steps + self._deleting_batch(batch.id, seq))

    def record_dead_batch(self, batch: BatchGroup, letter: DeadLetter) -> None:
        """Delete *batch* and its messages and insert *letter* in one transaction."""
        self._bodies.pop(batch.id, None)
        try:
            row = codec.dead_letter_row(letter)
        except (TypeError, ValueError, RecursionError) as exc:
            raise self._unencodable("dead-lettering a batch", exc) from exc
        seq = self._seqs.pop(batch.id, None)
        steps: list[Step] = [(_INSERT_DEAD_LETTER, row)]
        self._steps("dead-lettering a batch", steps + self._deleting_batch(batch.id, seq))

    @staticmethod
    def _deleting_batch(batch_id: str, seq: int | None) -> list[Step]:
        if seq is None:
            return [
                (_DELETE_BATCH_MESSAGES_BY_ID, (batch_id,)),
                ("DELETE FROM batches WHERE id = ?", (batch_id,)),
            ]
        return [
            ("DELETE FROM messages WHERE batch_seq = ?", (seq,)),
            ("DELETE FROM batches WHERE seq = ?", (seq,)),
        ]

    def _unencodable(self, action: str, exc: Exception) -> StoreError:
        return StoreError(f"{self.path}: {action} failed: cannot encode: {exc}")

    # ----------------------------------------------------------------- outbox

    def outbox_entries(self, limit: int | None = None) -> list[OutboxEntry]:
        """Return undelivered entries in flush order (at most *limit*)."""
        with self._reading("reading the outbox") as conn:
            return self._outbox_rows(conn, limit)

    def _outbox_rows(self, conn: sqlite3.Connection, limit: int | None) -> list[OutboxEntry]:
        rows = conn.execute(
            _SELECT_OUTBOX + " ORDER BY o.seq LIMIT ?", (-1 if limit is None else limit,)
        )
        return [self._decode("outbox", row[0], codec.outbox_from_row, row[1:]) for row in rows]

    def get_outbox(self, outbox_id: str) -> OutboxEntry | None:
        """Return one undelivered entry, or None."""
        with self._reading("reading the outbox") as conn:
            row = conn.execute(_SELECT_OUTBOX + " WHERE o.id = ?", (outbox_id,)).fetchone()
        if row is None:
            return None
        return self._decode("outbox", row[0], codec.outbox_from_row, row[1:])

    def update_outbox(self, entry: OutboxEntry) -> None:
        """Save *entry*'s attempts, next attempt time, last error and sender state.

        Into its progress row (a few hundred bytes written, whatever the size of the post).
        """
        next_attempt = entry.next_attempt_at
        self._statement(
            "updating an outbox entry",
            _SAVE_PROGRESS,
            (
                entry.attempts,
                None if next_attempt is None else codec.time_text(next_attempt),
                entry.last_error,
                codec.dump_json(entry.state.to_dict()),
                entry.id,
            ),
        )

    def ack(self, outbox_id: str) -> bool:
        """Delete a delivered entry; False if it was not in the outbox."""
        sql = "DELETE FROM outbox WHERE id = ?"
        return self._statement("acknowledging a delivery", sql, (outbox_id,)).rowcount > 0

    def dead_letter_outbox(self, outbox_id: str, letter: DeadLetter) -> bool:
        """Move an entry to the dead letters in one transaction; False if it was not there."""
        with self._transaction("dead-lettering an outbox entry") as conn:
            if conn.execute("DELETE FROM outbox WHERE id = ?", (outbox_id,)).rowcount == 0:
                return False
            self._insert_dead_letter(conn, letter)
            return True

    # ----------------------------------------------------------- dead letters

    @staticmethod
    def _insert_dead_letter(conn: sqlite3.Connection, letter: DeadLetter) -> None:
        conn.execute(
            f"INSERT INTO dead_letters ({codec.DEAD_LETTER_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)",
            codec.dead_letter_row(letter),
        )

    def dead_letters(self, channel_id: str | None = None) -> list[DeadLetter]:
        """Return dead letters, oldest first, optionally for one channel."""
        query = f"SELECT {codec.DEAD_LETTER_COLUMNS} FROM dead_letters"
        with self._reading("reading dead letters") as conn:
            if channel_id is None:
                rows = conn.execute(query + " ORDER BY seq").fetchall()
            else:
                rows = conn.execute(
                    query + " WHERE channel_id = ? ORDER BY seq", (channel_id,)
                ).fetchall()
        return [codec.dead_letter_from_row(row) for row in rows]

    def get_dead_letter(self, letter_id: str) -> DeadLetter | None:
        """Return one dead letter, or None."""
        with self._reading("reading dead letters") as conn:
            row = conn.execute(
                f"SELECT {codec.DEAD_LETTER_COLUMNS} FROM dead_letters WHERE id = ?", (letter_id,)
            ).fetchone()
        return None if row is None else codec.dead_letter_from_row(row)

    def remove_dead_letter(self, letter_id: str) -> DeadLetter | None:
        """Delete and return a dead letter; None if unknown."""
        with self._transaction("removing a dead letter") as conn:
            row = conn.execute(
                f"SELECT {codec.DEAD_LETTER_COLUMNS} FROM dead_letters WHERE id = ?", (letter_id,)
            ).fetchone()
            if row is None:
                return None
            conn.execute("DELETE FROM dead_letters WHERE id = ?", (letter_id,))
        return codec.dead_letter_from_row(row)

    # ---------------------------------------------------------------- threads

    def get_thread(self, thread_key: str, now: datetime) -> str | None:
        """Return the thread ``ts`` of *thread_key*, forgetting it once expired."""
        with self._transaction("reading the thread map") as conn:
            row = conn.execute(
                "SELECT ts, expires_at FROM threads WHERE thread_key = ?", (thread_key,)
            ).fetchone()
            if row is None:
                return None
            if row[1] <= codec.time_text(now):
                conn.execute("DELETE FROM threads WHERE expires_at <= ?", (codec.time_text(now),))
                return None
            return str(row[0])

    def set_thread(self, thread_key: str, ts: str, expires_at: datetime) -> None:
        """Remember *ts* as the thread of *thread_key* until *expires_at*."""
        self._statement(
            "writing the thread map",
            "INSERT OR REPLACE INTO threads (thread_key, ts, expires_at) VALUES (?, ?, ?)",
            (thread_key, ts, codec.time_text(expires_at)),
        )

    # ------------------------------------------------------------ accepted ids

    def seen_ids(self, size: int, keep: timedelta) -> SQLiteSeen:
        """Return the source message ids accepted (table ``seen_ids``), kept across restarts."""
        return SQLiteSeen(self, size, keep)

    # ------------------------------------------------------------------ mutes

    def mutes(self) -> SQLiteMutes:
        """Return the mutes and muted events (tables ``mutes`` / ``muted_events``)."""
        if self._mutes is None:
            self._mutes = SQLiteMutes(self)
        return self._mutes
