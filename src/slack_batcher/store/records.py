"""The records the stores keep: outbox entries, dead letters, live digests, stored state.

Plain values, shared by every store and the core; the protocols over them are in
:mod:`slack_batcher.store.base` (which re-exports these names).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..formatting.message import SlackMessage
from ..model.batch import BatchGroup
from ..model.message import BatchableMessage
from ..model.progress import DeliveryProgress

__all__ = ["DeadLetter", "DigestRecord", "OutboxEntry", "StoredState"]


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
