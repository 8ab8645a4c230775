"""The BatchStore protocol: where the batcher's state lives between and across processes.

The batcher keeps its own in-memory indexes for speed and tells the store about every state
change *before* it applies it, so a store error leaves the batcher unchanged. A durable
store must make each ``record_*`` call atomic: after a crash at any instruction, each
accepted message is in exactly one place: a pending batch, the outbox, or a dead letter.

Times are timezone-aware UTC datetimes; sizes are bytes. The records themselves
(:class:`OutboxEntry`, :class:`DeadLetter`, :class:`DigestRecord`, :class:`StoredState`)
live in :mod:`.records` and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..model.batch import BatchGroup
from ..model.message import BatchableMessage
from ..model.mute import Mute, MutedEvent
from .records import DeadLetter, DigestRecord, OutboxEntry, StoredState

if TYPE_CHECKING:
    from .redis.store import RedisStore

__all__ = [
    "BUSY",
    "NEW",
    "SEEN",
    "BatchRecords",
    "BatchStore",
    "DeadLetter",
    "DeadLetterStore",
    "DigestMap",
    "DigestRecord",
    "GroupCommits",
    "KeepsMutes",
    "Mutes",
    "OutboxEntry",
    "OutboxLeases",
    "OutboxStore",
    "SeenIds",
    "StoreUpkeep",
    "StoredState",
    "ThreadMap",
]


class BatchRecords(Protocol):
    """Pending batches, recorded as they change (the batcher keeps its own indexes)."""

    #: False when ``record_open`` / ``record_add`` do nothing (the batcher then skips them).
    keeps_batches: bool

    def load(self) -> StoredState:
        """Return the pending batches (messages in arrival order) and the outbox, oldest first."""
        ...

    def record_open(self, batch: BatchGroup, message: BatchableMessage) -> None:
        """Persist a new batch together with its first message, atomically."""
        ...

    def record_add(self, batch: BatchGroup, message: BatchableMessage) -> None:
        """Persist *message* joining the existing *batch*."""
        ...

    def record_flush(self, batch: BatchGroup, entry: OutboxEntry | None) -> None:
        """Remove *batch* and, in the same transaction, add *entry* to the outbox.

        ``entry`` is None when the caller took the message and needs no delivery tracking.
        """
        ...

    def record_dead_batch(self, batch: BatchGroup, letter: DeadLetter) -> None:
        """Remove *batch* and add *letter* to the dead letters, atomically."""
        ...


class OutboxStore(Protocol):
    """Flushed batches waiting for delivery to be acknowledged."""

    def outbox_entries(self, limit: int | None = None) -> list[OutboxEntry]:
        """Return undelivered outbox entries, oldest first (at most *limit*)."""
        ...

    def get_outbox(self, outbox_id: str) -> OutboxEntry | None:
        """Return one undelivered entry, or None."""
        ...

    def update_outbox(self, entry: OutboxEntry) -> None:
        """Save an entry's attempts, next attempt time, last error and sender state."""
        ...

    def ack(self, outbox_id: str) -> bool:
        """Remove a delivered entry from the outbox; False if it was not there."""
        ...

    def dead_letter_outbox(self, outbox_id: str, letter: DeadLetter) -> bool:
        """Move an outbox entry to the dead letters, atomically; False if it was not there."""
        ...


class DeadLetterStore(Protocol):
    """Undeliverable messages, kept with the reason until replayed."""

    def dead_letters(self, channel_id: str | None = None) -> list[DeadLetter]:
        """Return dead letters, oldest first, optionally for one channel."""
        ...

    def get_dead_letter(self, letter_id: str) -> DeadLetter | None:
        """Return one dead letter, or None."""
        ...

    def remove_dead_letter(self, letter_id: str) -> DeadLetter | None:
        """Remove and return a dead letter (for replay); None if unknown."""
        ...


class ThreadMap(Protocol):
    """Which post later posts about one PR, ticket or alert reply under."""

    def get_thread(self, thread_key: str, now: datetime) -> str | None:
        """Return the Slack ``ts`` of the first post about *thread_key*, unless expired."""
        ...

    def set_thread(self, thread_key: str, ts: str, expires_at: datetime) -> None:
        """Remember that posts about *thread_key* thread under *ts* until *expires_at*."""
        ...


class DigestMap(Protocol):
    """Live digests by key (see :class:`DigestRecord`). Each call is atomic.

    A store shared by several service instances (Redis) must make ``put_digest``
    last-writer-wins per key; one channel's deliveries run in one worker, so writes to one
    key do not race.
    """

    def get_digest(self, key: str, now: datetime) -> DigestRecord | None:
        """Return the live digest of *key*, or None when there is none or it expired by *now*.

        An expired record may be deleted by this call.
        """
        ...

    def put_digest(self, record: DigestRecord) -> None:
        """Insert or replace the digest of ``record.key`` (the whole record, atomically)."""
        ...

    def delete_digest(self, key: str) -> None:
        """Forget the digest of *key* (a no-op when there is none)."""
        ...


class GroupCommits(Protocol):
    """A store that can defer its commits: the writes of one loop turn in one transaction."""

    def begin_group(self) -> None:
        """Open a group: later calls join one transaction."""
        ...

    def commit_group(self) -> None:
        """Commit the group (raises StoreError when the commit fails)."""
        ...


class OutboxLeases(Protocol):
    """Per-entry ownership of an outbox shared by several instances (Redis).

    An optional capability, handed to the core's outbox by the shared pending index; the
    outbox of one process needs none. Each entry is delivered by the instance holding its
    lease (see :mod:`slack_batcher.store.redis.leases`).
    """

    def hold(self, entry_id: str) -> None:
        """Note an entry this instance flushed (and so holds)."""
        ...

    def size(self) -> int:
        """Return how many entries wait for delivery, across every instance."""
        ...

    def waiting(self) -> list[OutboxEntry]:
        """Lease the entries nobody holds and return them."""
        ...

    def maintain(self) -> list[OutboxEntry]:
        """Extend this instance's leases; lease and return the entries nobody holds."""
        ...

    def save(self, entry: OutboxEntry) -> None:
        """Save progress and extend the lease; LeaseLostError if another instance has it."""
        ...

    def drop(self, entry_id: str) -> None:
        """Forget an entry acknowledged or dead-lettered here."""
        ...

    def held_entries(self) -> list[OutboxEntry]:
        """Return the entries this instance holds."""
        ...

    def release(self) -> int:
        """Give every held entry back to the other instances; return how many."""
        ...


class StoreUpkeep(Protocol):
    """What the service asks of a store beside its data: name, health, maintenance.

    Every store answers each; one that has nothing to do says so (the documented no-op).
    """

    @property
    def write_error(self) -> str | None:
        """Why writes fail or new events are refused (a full disk, …); SQLite only, else None."""
        ...

    def describe(self) -> str:
        """Say what the store is and where its state lives (no secrets): dashboard, CLI, logs."""
        ...

    def check_writable(self) -> str | None:
        """Return why writes fail now (None when they work): readiness asks this."""
        ...

    def checkpoint(self) -> int:
        """Compact the store's write-ahead log when idle; the log's bytes after (-1: skipped).

        A no-op returning 0 for a store without one (memory, Redis).
        """
        ...

    def group_commits(self) -> GroupCommits | None:
        """Return the store's group commit (SQLite: itself), or None when it has none."""
        ...

    def shared_store(self) -> RedisStore | None:
        """Return the store itself when several instances can share its batches, else None.

        Redis: the service then keeps the pending batches and the pacing in it too.
        """
        ...

    def seen_ids(self, size: int, keep: timedelta) -> SeenIds:
        """Return the accepted ids: at most *size*, each kept for *keep* (see :class:`SeenIds`).

        Kept by the store (SQLite, Redis: across restarts and instances) or in the process
        (memory).
        """
        ...


@runtime_checkable
class Mutes(Protocol):
    """Mutes and the events they kept out of Slack (see :mod:`slack_batcher.model.mute`).

    Every store has one (``mutes()``, :class:`KeepsMutes`); a durable store keeps both
    across restarts, a shared one (Redis) for every instance. Muted events are kept (never
    posted, never lost) and counted per mute and channel, also after their mute ended.
    Every call is atomic.
    """

    def add(self, mute: Mute) -> None:
        """Insert *mute* (or replace the one with its id)."""
        ...

    def remove(self, mute_id: str) -> Mute | None:
        """End and forget a mute; return it, or None when unknown. Its events stay kept."""
        ...

    def listed(self) -> list[Mute]:
        """Return every kept mute, ended ones included, oldest first."""
        ...

    def active(self, now: datetime) -> list[Mute]:
        """Return the mutes that hold at *now*, oldest first (the ingest path's lookup)."""
        ...

    def record(self, events: Sequence[MutedEvent]) -> None:
        """Keep *events* (all of them or, on an error, none)."""
        ...

    def counts(self) -> dict[tuple[str, str], int]:
        """Return the events kept per (mute id, channel)."""
        ...

    def events(self, mute_id: str | None = None, limit: int = 100) -> list[MutedEvent]:
        """Return the latest kept events (of one mute), oldest first, at most *limit*."""
        ...


class KeepsMutes(Protocol):
    """A store with the :class:`Mutes` capability."""

    def mutes(self) -> Mutes:
        """Return the store's mutes."""
        ...


@runtime_checkable
class BatchStore(
    BatchRecords,
    OutboxStore,
    DeadLetterStore,
    ThreadMap,
    DigestMap,
    StoreUpkeep,
    KeepsMutes,
    Protocol,
):
    """Persistence for batches, the outbox and dead letters. Every method is atomic.

    One protocol per concern (:class:`BatchRecords`, :class:`OutboxStore`,
    :class:`DeadLetterStore`, :class:`ThreadMap`, :class:`DigestMap`, :class:`StoreUpkeep`,
    :class:`KeepsMutes`);
    a part of the code that needs one concern asks for that protocol.
    """

    #: True when state survives the process (a crash or restart loses nothing accepted).
    durable: bool

    def close(self) -> None:
        """Release files and connections; the store is unusable afterwards."""
        ...


#: What :meth:`SeenIds.claim` says of one id.
NEW, SEEN, BUSY = "new", "seen", "busy"


@runtime_checkable
class SeenIds(Protocol):
    """Message ids accepted before, to recognise a redelivery after its batch was posted.

    Every store has one (:meth:`StoreUpkeep.seen_ids`): SQLite and Redis keep the ids across
    restarts and instances, the memory store in the process. The caller claims the ids of a
    delivery, stores its messages, then confirms the ids, or releases them when storing
    failed. An id answers ``seen`` only once confirmed, so a first delivery is never taken
    for a redelivery (at-least-once); ``busy`` means another process claimed it and has not
    confirmed or released it yet (a store shared by several processes).
    """

    def claim(self, ids: Sequence[str], now: datetime) -> dict[str, str]:
        """Return ``new``, ``seen`` or ``busy`` for each id; the ``new`` ones are now claimed."""
        ...

    def confirm(self, ids: Sequence[str], now: datetime) -> None:
        """Remember the claimed *ids* as accepted at *now*."""
        ...

    def release(self, ids: Sequence[str]) -> None:
        """Give up the claim on *ids* (their messages were not stored)."""
        ...
