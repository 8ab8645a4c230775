"""The SQLite store's schema, its version and the migration step.

A slack-batcher store file carries ``PRAGMA application_id`` = :data:`APPLICATION_ID` (so a
foreign SQLite file is never mistaken for one) and ``PRAGMA user_version`` = the schema
version it was written with. :func:`prepare` brings an older file up to
:data:`SCHEMA_VERSION` one step at a time, each step in its own transaction together with the
version bump, so a crash during a migration leaves the file at the previous version.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

from ...model.errors import SchemaVersionError, StoreCorruptError

__all__ = ["APPLICATION_ID", "MIGRATIONS", "SCHEMA_VERSION", "check_identity", "prepare"]

#: "SLKB": marks a file as a slack-batcher store.
APPLICATION_ID = 0x534C4B42

_V1 = """
CREATE TABLE batches (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    channel_id TEXT NOT NULL,
    batch_type TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    last_activity TEXT NOT NULL,
    metadata TEXT NOT NULL
);
CREATE TABLE messages (
    seq INTEGER PRIMARY KEY,
    batch_seq INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX messages_by_batch ON messages (batch_seq);
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    channel_id TEXT NOT NULL,
    batch_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    flushed_at TEXT NOT NULL,
    due_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error TEXT,
    state TEXT NOT NULL,
    message TEXT NOT NULL,
    messages TEXT NOT NULL
);
CREATE TABLE dead_letters (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    channel_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    error_code TEXT,
    created_at TEXT NOT NULL,
    batch_id TEXT,
    message TEXT,
    messages TEXT NOT NULL
);
CREATE INDEX dead_letters_by_channel ON dead_letters (channel_id, seq);
CREATE TABLE threads (
    thread_key TEXT PRIMARY KEY,
    ts TEXT NOT NULL,
    expires_at TEXT NOT NULL
) WITHOUT ROWID;
"""


def _create_v1(conn: sqlite3.Connection) -> None:
    for statement in _V1.split(";"):
        if statement.strip():
            conn.execute(statement)


def _add_digests_v2(conn: sqlite3.Connection) -> None:
    """Version 2: the digest map (live digests by key; see ``DigestRecord``)."""
    conn.execute(
        "CREATE TABLE digests ("
        " key TEXT PRIMARY KEY, channel_id TEXT NOT NULL, ts TEXT NOT NULL,"
        " expires_at TEXT NOT NULL, body TEXT NOT NULL"
        ") WITHOUT ROWID"
    )


def _split_digest_items_v3(conn: sqlite3.Connection) -> None:
    """Version 3: a digest's items apart from the record, so a growing digest appends them.

    Before, every flush into a digest rewrote its whole body (up to 1000 items). Now each
    write adds one ``digest_items`` row: the items it added, as a JSON array. A body that
    cannot be read is left as it is: reading that digest reports it.
    """
    conn.execute(
        "CREATE TABLE digest_items ("
        " seq INTEGER PRIMARY KEY, key TEXT NOT NULL, body TEXT NOT NULL)"
    )
    conn.execute("CREATE INDEX digest_items_by_key ON digest_items (key, seq)")
    for key, body in conn.execute("SELECT key, body FROM digests").fetchall():
        try:
            head = json.loads(body)
            items = head.pop("messages", None) or []
        except (ValueError, AttributeError):
            continue
        if items:
            conn.execute(
                "INSERT INTO digest_items (key, body) VALUES (?, ?)", (key, _compact(items))
            )
        conn.execute("UPDATE digests SET body = ? WHERE key = ?", (_compact(head), key))


def _add_seen_ids_v4(conn: sqlite3.Connection) -> None:
    """Version 4: the source message ids accepted, so a redelivery is known after a restart.

    ``seq`` is the insertion order (oldest first), which is what pruning walks; ``id`` is
    unique, so a check is one index lookup.
    """
    conn.execute(
        "CREATE TABLE seen_ids ("
        " seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, accepted_at TEXT NOT NULL)"
    )


def _add_mutes_v5(conn: sqlite3.Connection) -> None:
    """Version 5: mutes, and the events they kept out of Slack (kept, counted, never posted).

    ``mutes.body`` is the whole mute as JSON; ``muted_events`` one row per muted event,
    indexed by mute for the counts and the listing.
    """
    conn.execute(
        "CREATE TABLE mutes ("
        " id TEXT PRIMARY KEY, created_at TEXT NOT NULL, until TEXT NOT NULL,"
        " body TEXT NOT NULL) WITHOUT ROWID"
    )
    conn.execute(
        "CREATE TABLE muted_events ("
        " seq INTEGER PRIMARY KEY, mute_id TEXT NOT NULL, channel_id TEXT NOT NULL,"
        " muted_at TEXT NOT NULL, body TEXT NOT NULL)"
    )
    conn.execute("CREATE INDEX muted_events_by_mute ON muted_events (mute_id, channel_id)")


def _add_outbox_progress_v6(conn: sqlite3.Connection) -> None:
    """Version 6: an outbox entry's delivery progress in a small row of its own.

    An ``UPDATE outbox`` rewrote the whole row, the rendered post and its messages included:
    ~0.5 MB of WAL per progress mark for five 50 KB events, more than a full disk has left
    for delivery. A progress row overrides the entry's own columns; deleting the entry
    deletes it (a trigger, so an ack stays one statement).
    """
    conn.execute(
        "CREATE TABLE outbox_progress ("
        " id TEXT PRIMARY KEY, attempts INTEGER NOT NULL, next_attempt_at TEXT,"
        " last_error TEXT, state TEXT NOT NULL) WITHOUT ROWID"
    )
    conn.execute(
        "CREATE TRIGGER outbox_progress_gone AFTER DELETE ON outbox"
        " BEGIN DELETE FROM outbox_progress WHERE id = old.id; END"
    )


def _compact(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


#: ``MIGRATIONS[n]`` turns a version ``n - 1`` file into version ``n`` (0 is an empty file).
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    1: _create_v1,
    2: _add_digests_v2,
    3: _split_digest_items_v3,
    4: _add_seen_ids_v4,
    5: _add_mutes_v5,
    6: _add_outbox_progress_v6,
}
SCHEMA_VERSION = max(MIGRATIONS)


def check_identity(conn: sqlite3.Connection, path: Path, app_id: int, version: int) -> None:
    """Raise unless *conn* (read-only is enough) holds a slack-batcher store we can read.

    A new, empty file passes. Raises :class:`~slack_batcher.model.errors.StoreCorruptError` for a
    SQLite file of another application and :class:`~slack_batcher.model.errors.SchemaVersionError`
    for a store written by a newer version.
    """
    if app_id == 0 and version == 0:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_schema WHERE type='table'")]
        if tables:
            raise StoreCorruptError(
                f"{path}: a SQLite database but not a slack-batcher store "
                f"(no application id; tables: {', '.join(sorted(tables))}); refusing to touch it"
            )
    elif app_id != APPLICATION_ID:
        raise StoreCorruptError(
            f"{path}: a SQLite database of another application (application_id {app_id:#x}), "
            "not a slack-batcher store; refusing to touch it"
        )
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{path}: written by a newer slack-batcher (schema version {version}; this version "
            f"reads up to {SCHEMA_VERSION}); upgrade slack-batcher or use another file"
        )


def prepare(conn: sqlite3.Connection, path: Path) -> int:
    """Check that *conn* holds a slack-batcher store and migrate it to the current schema.

    Returns the version found on disk (0 for a new file). Raises
    :class:`~slack_batcher.model.errors.SchemaVersionError` for a file written by a newer version
    and :class:`~slack_batcher.model.errors.StoreCorruptError` for a SQLite file that is not a
    store.
    *conn* must be in autocommit mode (``isolation_level=None``).
    """
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    check_identity(conn, path, app_id, version)
    for target in range(version + 1, SCHEMA_VERSION + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            MIGRATIONS[target](conn)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {target}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return int(version)
