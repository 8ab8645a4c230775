"""The BatchStore protocol: where the batcher's state lives between and across processes.

The batcher keeps its own in-memory indexes for speed and tells the store about every state
change *before* it applies it, so a store error leaves the batcher unchanged. A durable
store must make each ``record_*`` call atomic: after a crash at any instruction, each
accepted message is in exactly one place: a pending batch, the outbox, or a dead letter.

Times are timezone-aware UTC datetimes; sizes are bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from ..formatting.message import SlackMessage
from ..model.batch import BatchGroup
from ..model.message import BatchableMessage
from ..model.mute import Mute, MutedEvent
from ..model.progress import DeliveryProgress

__all__ = [
    "BatchStore",
    "DeadLetter",
    "DigestRecord",
    "KeepsMutes",
    "Mutes",
    "OutboxEntry",
    "SeenIds",
    "StoredState",
]


@dataclass(slots=True)
class OutboxEntry:
    """A flushed batch's rendered message, waiting for delivery to be acknowledged.

    ``id`` equals the batch id (one flush per batch). ``due_at`` is when the batch was due,
    for deadline-to-post latency. ``state`` is the delivery progress (the ``ts`` of each page
    posted, the live-digest step, ...), saved with :meth:`BatchStore.update_outbox` so a retry
    resumes, not repeats.
    """

    id: str
    channel_id: str
    batch_id: str
    message: SlackMessage
    messages: list[BatchableMessage]
    flushed_at: datetime
    due_at: datetime
    reason: str
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    state: DeliveryProgress = field(default_factory=DeliveryProgress)


@dataclass(slots=True)
class DeadLetter:
    """Messages that could not be delivered, kept with the reason until replayed.

    ``reason`` says why in words ("stale: pending 25.0 h, limit 24 h", "channel_not_found:
    …"); ``error_code`` is Slack's error code when delivery failed. ``message`` is the
    rendered post when there was one. Replaying re-queues ``messages`` for batching.
    """

    id: str
    channel_id: str
    reason: str
    created_at: datetime
    messages: list[BatchableMessage]
    batch_id: str | None = None
    error_code: str | None = None
    message: SlackMessage | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready summary, messages included."""
        return {
            "id": self.id,
            "channel_id": self.channel_id,
            "reason": self.reason,
            "error_code": self.error_code,
            "created_at": self.created_at.isoformat(),
            "batch_id": self.batch_id,
            "message_count": len(self.messages),
            "messages": [m.to_dict() for m in self.messages],
        }


@dataclass(slots=True)
class DigestRecord:
    """A live digest: one top-level post whose thread collects later flushes of its key.

    ``key`` is the store key (channel and digest key; see :mod:`slack_batcher.runtime.digests`);
    ``ts`` the parent post. The digest is live until ``expires_at`` (the runtime sets it to
    ``min(updated_at + digest_window, created_at + digest_max_age)``); an expired record is
    never returned. ``messages`` are every item in the digest, oldest first (the parent's
    summary is rendered from them); ``entries`` the outbox entry ids already added, so a
    delivery retried after a crash is not counted twice; ``replies`` the posts in its thread;
    ``converted`` is True once the first post's own items were re-posted in the thread and
    the parent became a summary; ``first_post`` is the first post's page 1 (for that).
    """

    key: str
    channel_id: str
    ts: str
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    messages: list[BatchableMessage] = field(default_factory=list)
    entries: list[str] = field(default_factory=list)
    replies: int = 0
    converted: bool = False
    first_post: SlackMessage | None = None
    by_scope: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict; :meth:`from_dict` reverses it."""
        return {
            "key": self.key,
            "channel_id": self.channel_id,
            "ts": self.ts,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "messages": [m.to_dict() for m in self.messages],
            "entries": list(self.entries),
            "replies": self.replies,
            "converted": self.converted,
            "first_post": self.first_post.to_dict() if self.first_post is not None else None,
            "by_scope": self.by_scope,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> DigestRecord:
        """Rebuild a record from :meth:`to_dict` output."""
        first = raw.get("first_post")
        return cls(
            key=str(raw["key"]),
            channel_id=str(raw["channel_id"]),
            ts=str(raw["ts"]),
            created_at=datetime.fromisoformat(raw["created_at"]),
            updated_at=datetime.fromisoformat(raw["updated_at"]),
            expires_at=datetime.fromisoformat(raw["expires_at"]),
            messages=[BatchableMessage.from_dict(m) for m in raw.get("messages") or []],
            entries=[str(e) for e in raw.get("entries") or []],
            replies=int(raw.get("replies") or 0),
            converted=bool(raw.get("converted")),
            first_post=SlackMessage.from_dict(first) if isinstance(first, dict) else None,
            by_scope=bool(raw.get("by_scope")),
        )


@dataclass(slots=True)
class StoredState:
    """What a store hands back on start: pending batches and undelivered outbox entries."""

    batches: list[BatchGroup] = field(default_factory=list)
    outbox: list[OutboxEntry] = field(default_factory=list)


@runtime_checkable
class BatchStore(Protocol):
    """Persistence for batches, the outbox and dead letters. Every method is atomic."""

    #: True when state survives the process (a crash or restart loses nothing accepted).
    durable: bool
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

    def dead_letters(self, channel_id: str | None = None) -> list[DeadLetter]:
        """Return dead letters, oldest first, optionally for one channel."""
        ...

    def get_dead_letter(self, letter_id: str) -> DeadLetter | None:
        """Return one dead letter, or None."""
        ...

    def remove_dead_letter(self, letter_id: str) -> DeadLetter | None:
        """Remove and return a dead letter (for replay); None if unknown."""
        ...

    def get_thread(self, thread_key: str, now: datetime) -> str | None:
        """Return the Slack ``ts`` of the first post about *thread_key*, unless expired."""
        ...

    def set_thread(self, thread_key: str, ts: str, expires_at: datetime) -> None:
        """Remember that posts about *thread_key* thread under *ts* until *expires_at*."""
        ...

    # -- the digest map: live digests by key (see DigestRecord). Each call is atomic. A store
    # shared by several service instances (Redis) must make put_digest last-writer-wins per
    # key; one channel's deliveries run in one worker, so writes to one key do not race.

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

    def close(self) -> None:
        """Release files and connections; the store is unusable afterwards."""
        ...


#: What :meth:`SeenIds.claim` says of one id.
NEW, SEEN, BUSY = "new", "seen", "busy"


@runtime_checkable
class SeenIds(Protocol):
    """Message ids accepted before, to recognise a redelivery after its batch was posted.

    An optional store capability: a store that has one returns it from
    ``seen_ids(size, keep)`` (remember at most *size* ids, each for *keep*); the HTTP layer
    falls back to an in-process set otherwise. The caller claims the ids of a delivery,
    stores its messages, then confirms the ids, or releases them when storing failed. An id
    answers ``seen`` only once confirmed, so a first delivery is never taken for a
    redelivery (at-least-once); ``busy`` means another process claimed it and has not
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


class RemembersIds(Protocol):
    """A store with the :class:`SeenIds` capability."""

    def seen_ids(self, size: int, keep: timedelta) -> SeenIds:
        """Return the store's accepted ids: at most *size*, each kept for *keep*."""
        ...


@runtime_checkable
class Mutes(Protocol):
    """Mutes and the events they kept out of Slack (see :mod:`slack_batcher.model.mute`).

    An optional store capability, like :class:`SeenIds`: a store that has one returns it
    from ``mutes()``; a durable store keeps both across restarts, a shared one (Redis) for
    every instance. Muted events are kept (never posted, never lost) and counted per mute
    and channel, also after their mute ended. Every call is atomic.
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
