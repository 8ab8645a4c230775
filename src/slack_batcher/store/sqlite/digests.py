"""The SQLite store's live-digest map: records, their items in rows of their own, caches.

:class:`SQLiteDigests` is the part of :class:`~slack_batcher.store.SQLiteStore` that keeps
live digests (schema version 3): a digest's fields in ``digests``, its items in
``digest_items``, one row per write holding the items it added. Digests are kept decoded in
memory as last written (this process is the file's only writer; a rollback drops the
cache), so a digest that grows writes only its new items, encoded as they were when their
batch was flushed.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal

from ...model.errors import StoreCorruptError
from ...model.message import BatchableMessage
from .. import codec
from ..base import DigestRecord
from .file import SQLiteFile, Step

__all__ = ["DIGEST_TEXT_CHARS", "FLUSHED_BODIES_KEPT", "SQLiteDigests", "digest_item_body"]

#: How many flushed messages keep their stored JSON for a live digest to reuse (~300 B each).
FLUSHED_BODIES_KEPT = 5000

#: A digest item keeps each text of its data and metadata up to this many characters: the
#: longest text a Slack post holds (its fallback text; blocks hold less), so the summary
#: reads the same (but for texts that differ only past the cut, or blank for thousands of
#: characters, then not). A 50 KB event costs its digest ~4 KB, not 50 KB, so a drained
#: outbox gives a full disk its room back although the digests live on.
DIGEST_TEXT_CHARS = 4000

_PUT_DIGEST = (
    "INSERT OR REPLACE INTO digests (key, channel_id, ts, expires_at, body) VALUES (?, ?, ?, ?, ?)"
)


class SQLiteDigests(SQLiteFile):
    """The digest map of a SQLite store file (see the module docstring)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        busy_timeout: float = 5.0,
    ) -> None:
        # Live digests as last written or read: records are never changed in place (the
        # runtime replaces them), and this process is the file's only writer, so a read
        # need not decode every item of the digest again (it grows with each flush).
        self._digests: dict[str, DigestRecord] = {}
        # Digest key → its items as stored (in digest_items): a digest only grows, so writing
        # it again stores just the items added since (up to 1000 per digest), as one row.
        self._digest_items: dict[str, list[BatchableMessage]] = {}
        # Message (by identity) → its stored body, for the messages of recent flushes: a
        # flushed post usually joins a live digest soon, which then stores them again.
        # An encoding cache, not a copy of the file: at most FLUSHED_BODIES_KEPT, oldest out.
        self._flushed_bodies: dict[int, tuple[BatchableMessage, str]] = {}
        # The earliest expiry (time text) of a stored digest, or earlier; None: unknown.
        # A digest write sweeps the expired digests only once this time has come.
        self._sweep_after: str | None = None
        super().__init__(path, synchronous=synchronous, busy_timeout=busy_timeout)

    def _drop_caches(self) -> None:
        super()._drop_caches()
        self._digests.clear()
        self._digest_items.clear()
        self._sweep_after = None

    def _keep_flushed_bodies(self, messages: list[BatchableMessage], bodies: list[str]) -> None:
        kept = self._flushed_bodies
        with self._lock:
            for message, body in zip(messages, bodies, strict=True):
                kept[id(message)] = (message, body)  # the message is held: its id stays its own
            while len(kept) > FLUSHED_BODIES_KEPT:
                del kept[next(iter(kept))]

    def _body_of(self, message: BatchableMessage) -> str:
        """Return *message*'s digest item: as encoded when it was flushed, else anew."""
        found = self._flushed_bodies.pop(id(message), None)
        body = found[1] if found is not None and found[0] is message else None
        return digest_item_body(message, body)

    # ---------------------------------------------------------------- digests

    def get_digest(self, key: str, now: datetime) -> DigestRecord | None:
        """Return the live digest of *key*, or None; expired ones are deleted."""
        with self._lock:  # the caches and the file change together
            return self._get_digest(key, now)

    def _get_digest(self, key: str, now: datetime) -> DigestRecord | None:
        cached = self._digests.get(key)
        if cached is not None and cached.expires_at > now:
            return _copy_digest(cached)
        with self._transaction("reading the digest map") as conn:
            row = conn.execute(
                "SELECT expires_at, body FROM digests WHERE key = ?", (key,)
            ).fetchone()
            if row is None:
                self._forget_digest(key)
                return None
            if row[0] <= codec.time_text(now):
                self._sweep_digests(conn, codec.time_text(now), keep=None)
                return None
            parts = conn.execute(
                "SELECT body FROM digest_items WHERE key = ? ORDER BY seq", (key,)
            ).fetchall()
        try:
            raw = json.loads(row[1])
            raw["messages"] = json.loads(codec.join_arrays([part for (part,) in parts]))
            record = DigestRecord.from_dict(raw)
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreCorruptError(f"{self.path}: digest {key!r} is unreadable: {exc}") from exc
        self._digests[key] = record
        self._digest_items[key] = list(record.messages)
        return _copy_digest(record)

    def put_digest(self, record: DigestRecord) -> None:
        """Insert or replace the digest of ``record.key``; sweep the expired ones (one transaction).

        Digests expired by ``record.updated_at`` go, so keys that fell silent do not pile up.
        A digest only grows: when the items stored last are the start of ``record.messages``,
        one row holds the items added since (the record's other fields are one small row).
        """
        with self._lock:  # the caches and the file change together
            self._put_digest(record)

    def _put_digest(self, record: DigestRecord) -> None:
        messages = record.messages
        stored = self._digest_items.get(record.key)
        # Equal messages store the same JSON; the same objects compare at C speed.
        grows = stored is not None and messages[: len(stored)] == stored
        added = messages[len(stored) :] if grows and stored is not None else messages
        items = codec.join_bodies([self._body_of(message) for message in added])
        head = replace(record, messages=[]).to_dict()
        del head["messages"]
        body = codec.dump_json(head)
        expires = codec.time_text(record.expires_at)
        steps: list[Step] = []
        if not grows:
            steps.append(("DELETE FROM digest_items WHERE key = ?", (record.key,)))
        if added:
            steps.append(
                ("INSERT INTO digest_items (key, body) VALUES (?, ?)", (record.key, items))
            )
        steps.append((_PUT_DIGEST, (record.key, record.channel_id, record.ts, expires, body)))
        self.charge(len(body) + (len(items) if added else 0))
        swept = codec.time_text(record.updated_at)
        if self._sweep_after is None or self._sweep_after <= swept:
            with self._transaction("writing the digest map") as conn:
                self._sweep_digests(conn, swept, keep=record.key)
                for sql, params in steps:
                    conn.execute(sql, params)
        else:  # no statement here can fail on its data: no savepoint needed
            self._steps("writing the digest map", steps)
        if self._sweep_after is not None:
            self._sweep_after = min(self._sweep_after, expires)
        self._digests[record.key] = _copy_digest(record)
        self._digest_items[record.key] = list(messages)

    def _sweep_digests(self, conn: sqlite3.Connection, when: str, keep: str | None) -> None:
        """Delete the digests expired at *when* (time text), but *keep*, with their items.

        Then note the earliest expiry left, so writes skip the sweep until that time.
        """
        expired = "SELECT key FROM digests WHERE expires_at <= ? AND key IS NOT ?"
        conn.execute(f"DELETE FROM digest_items WHERE key IN ({expired})", (when, keep))
        conn.execute("DELETE FROM digests WHERE expires_at <= ? AND key IS NOT ?", (when, keep))
        gone = [k for k, r in self._digests.items() if codec.time_text(r.expires_at) <= when]
        for key in gone:
            if key != keep:
                self._forget_digest(key)
        earliest = conn.execute(
            "SELECT min(expires_at) FROM digests WHERE key IS NOT ?", (keep,)
        ).fetchone()[0]
        self._sweep_after = "~" if earliest is None else str(earliest)  # "~": after any time

    def _forget_digest(self, key: str) -> None:
        self._digests.pop(key, None)
        self._digest_items.pop(key, None)

    def delete_digest(self, key: str) -> None:
        """Forget the digest of *key*."""
        self._forget_digest(key)
        with self._transaction("writing the digest map") as conn:
            conn.execute("DELETE FROM digest_items WHERE key = ?", (key,))
            conn.execute("DELETE FROM digests WHERE key = ?", (key,))


def digest_item_body(message: BatchableMessage, body: str | None = None) -> str:
    """Return the stored form of *message* as a digest item: texts cut to DIGEST_TEXT_CHARS.

    *body* is its stored form when known (``codec.message_body``); a body that short holds
    no text to cut and is returned as it is.
    """
    if body is None:
        body = codec.message_body(message)
    if len(body) <= DIGEST_TEXT_CHARS:  # the usual case: no text in it is that long
        return body
    raw = message.to_dict()
    raw["data"] = _cut(message.data)
    raw["metadata"] = _cut(message.metadata)
    return codec.dump_json(raw)


def _cut(value: Any) -> Any:
    """Return *value* with every string in it cut to DIGEST_TEXT_CHARS characters."""
    if isinstance(value, str):
        return value[:DIGEST_TEXT_CHARS]
    if isinstance(value, dict):
        return {key: _cut(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_cut(item) for item in value]
    return value


def _copy_digest(record: DigestRecord) -> DigestRecord:
    """Return *record* with its own lists: a caller changing it leaves the cache alone."""
    return replace(record, messages=list(record.messages), entries=list(record.entries))
