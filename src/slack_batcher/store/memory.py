"""MemoryStore: the library default. Fast, and gone when the process ends."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from ..model.batch import BatchGroup
from ..model.message import BatchableMessage
from .base import DeadLetter, DigestRecord, OutboxEntry, StoredState
from .mutes import MemoryMutes
from .recent_ids import RecentIds

__all__ = ["MemoryStore"]


class MemoryStore:
    """Keeps the outbox and dead letters in dicts; batches live in the batcher itself.

    Not durable: use :class:`~slack_batcher.store.sqlite.store.SQLiteStore` when a restart must
    not lose pending notifications.
    """

    durable = False
    keeps_batches = False

    def __init__(self) -> None:
        self._outbox: dict[str, OutboxEntry] = {}
        self._dead: dict[str, DeadLetter] = {}
        self._threads: dict[str, tuple[str, datetime]] = {}
        self._digests: dict[str, DigestRecord] = {}
        self._seen: RecentIds | None = None
        self._mutes = MemoryMutes()

    def load(self) -> StoredState:
        """Return the outbox (batches are not kept here)."""
        return StoredState(outbox=list(self._outbox.values()))

    def record_open(self, batch: BatchGroup, message: BatchableMessage) -> None:
        """Do nothing: the batcher's own indexes hold the batch."""

    def record_add(self, batch: BatchGroup, message: BatchableMessage) -> None:
        """Do nothing: the batcher's own indexes hold the batch."""

    def record_flush(self, batch: BatchGroup, entry: OutboxEntry | None) -> None:
        """Queue *entry* for delivery, if any."""
        if entry is not None:
            self._outbox[entry.id] = entry

    def record_dead_batch(self, batch: BatchGroup, letter: DeadLetter) -> None:
        """Keep *letter*."""
        self._dead[letter.id] = letter

    def outbox_entries(self, limit: int | None = None) -> list[OutboxEntry]:
        """Return undelivered entries, oldest first."""
        entries = list(self._outbox.values())
        return entries if limit is None else entries[:limit]

    def get_outbox(self, outbox_id: str) -> OutboxEntry | None:
        """Return one undelivered entry, or None."""
        return self._outbox.get(outbox_id)

    def update_outbox(self, entry: OutboxEntry) -> None:
        """Replace the stored entry (it is the same object in memory)."""
        if entry.id in self._outbox:
            self._outbox[entry.id] = entry

    def ack(self, outbox_id: str) -> bool:
        """Drop a delivered entry."""
        return self._outbox.pop(outbox_id, None) is not None

    def dead_letter_outbox(self, outbox_id: str, letter: DeadLetter) -> bool:
        """Move an entry to the dead letters."""
        if self._outbox.pop(outbox_id, None) is None:
            return False
        self._dead[letter.id] = letter
        return True

    def dead_letters(self, channel_id: str | None = None) -> list[DeadLetter]:
        """Return dead letters, oldest first."""
        letters = self._dead.values()
        return [d for d in letters if channel_id is None or d.channel_id == channel_id]

    def get_dead_letter(self, letter_id: str) -> DeadLetter | None:
        """Return one dead letter, or None."""
        return self._dead.get(letter_id)

    def remove_dead_letter(self, letter_id: str) -> DeadLetter | None:
        """Remove and return a dead letter."""
        return self._dead.pop(letter_id, None)

    def get_thread(self, thread_key: str, now: datetime) -> str | None:
        """Return the thread ``ts`` for *thread_key* unless it has expired."""
        found = self._threads.get(thread_key)
        if found is None:
            return None
        if found[1] <= now:
            del self._threads[thread_key]
            return None
        return found[0]

    def set_thread(self, thread_key: str, ts: str, expires_at: datetime) -> None:
        """Remember the thread ``ts`` of *thread_key* until *expires_at*."""
        self._threads[thread_key] = (ts, expires_at)

    def get_digest(self, key: str, now: datetime) -> DigestRecord | None:
        """Return the live digest of *key* (a copy), or None; an expired one is forgotten."""
        record = self._digests.get(key)
        if record is None:
            return None
        if record.expires_at <= now:
            del self._digests[key]
            return None
        return _copy(record)

    def put_digest(self, record: DigestRecord) -> None:
        """Keep a copy of *record* under its key."""
        self._digests[record.key] = _copy(record)

    def delete_digest(self, key: str) -> None:
        """Forget the digest of *key*."""
        self._digests.pop(key, None)

    def seen_ids(self, size: int, keep: timedelta) -> RecentIds:
        """Return the ids accepted by this process: the last *size* (*keep* is not used)."""
        if self._seen is None:
            self._seen = RecentIds(size)
        return self._seen

    def describe(self) -> str:
        """Say that state lives in this process only."""
        return "MemoryStore (not durable: lost when the process ends)"

    #: Always None: memory writes do not fail.
    write_error: str | None = None

    def check_writable(self) -> str | None:
        """Return None: memory writes do not fail."""
        return None

    def checkpoint(self) -> int:
        """Do nothing (no write-ahead log); return 0."""
        return 0

    def shared_store(self) -> None:
        """Return None: the batches of one process."""
        return None

    def group_commits(self) -> None:
        """Return None: each write applies at once."""
        return None

    def mutes(self) -> MemoryMutes:
        """Return the mutes kept in this process."""
        return self._mutes

    def close(self) -> None:
        """Nothing to release."""


def _copy(record: DigestRecord) -> DigestRecord:
    # Messages are immutable; the lists are not: the caller must not change what we keep.
    return replace(record, messages=list(record.messages), entries=list(record.entries))
