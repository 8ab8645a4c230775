"""BatchGroup: the messages waiting together to become one Slack post."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any

from .clock import utc_now
from .message import PRIORITY_SCORES, BatchableMessage, BatchType, ContentType

__all__ = ["BatchGroup"]


_TEAM = BatchType.TEAM_ACTIVITY
_TYPE_OF = {kind: BatchType.for_content_type(kind) for kind in ContentType}


_by_time = attrgetter("timestamp")


def _by_priority_then_time(message: BatchableMessage) -> tuple[int, datetime]:
    return (-PRIORITY_SCORES[message.priority], message.timestamp)


@dataclass(eq=False, slots=True, init=False)
class BatchGroup:
    """An open batch in one channel.

    ``created_at`` is when its first message arrived (the window opens then) and
    ``expires_at`` when it is due: ``created_at + max_batch_age``, fixed when the batch opens
    and never moved by later messages (unless the channel's ``window`` is ``"sliding"``:
    then each message moves it to arrival + max_batch_age, up to ``max_wait_minutes``).
    ``messages`` keeps arrival order; use :meth:`ordered_messages` for display order.
    """

    id: str
    channel_id: str
    batch_type: BatchType
    created_at: datetime
    expires_at: datetime | None
    messages: list[BatchableMessage] = field(default_factory=list)
    last_activity: datetime | None = None
    #: Behind the ``metadata`` property: made on first use (most batches never have any).
    _metadata: dict[str, Any] | None = field(default=None, repr=False, init=False)
    #: Grouping partition this batch belongs to (see grouping.py); not shown to users.
    partition: tuple[str, ...] = ()
    #: Scoring state (see grouping.py), not shown to users: the first member's scope; its
    #: distinct profiles once members differ in scope (and their feature keys once there
    #: are many); author → content-type bits for a large single-scope batch.
    scope: str | None = None
    profiles: list[tuple[str, str, ContentType]] | None = None
    match_keys: set[tuple[object, ...]] | None = None
    author_types: dict[str | None, int] | None = None
    size_bytes: int = 0
    #: Opening order within its channel (set by the channel queue).
    sequence: int = 0

    def __init__(
        self,
        id: str,
        channel_id: str,
        batch_type: BatchType,
        created_at: datetime | None = None,
        expires_at: datetime | None = None,
        messages: list[BatchableMessage] | None = None,
        last_activity: datetime | None = None,
        metadata: dict[str, Any] | None = None,
        partition: tuple[str, ...] = (),
        scope: str | None = None,
        profiles: list[tuple[str, str, ContentType]] | None = None,
        match_keys: set[tuple[object, ...]] | None = None,
        author_types: dict[str | None, int] | None = None,
        size_bytes: int = 0,
        sequence: int = 0,
    ) -> None:
        """Build a batch; written by hand (not generated): the hot path opens many.

        ``created_at`` defaults to now (UTC) and ``expires_at`` to None (no due time of its
        own: :attr:`due_at` is then ``created_at``), as in the seed; the batcher sets both.
        """
        if created_at is None:
            created_at = utc_now()
        self.id = id
        self.channel_id = channel_id
        self.batch_type = batch_type
        self.created_at = created_at
        self.expires_at = expires_at
        self.messages = [] if messages is None else messages
        self.last_activity = created_at if last_activity is None else last_activity
        self._metadata = metadata
        self.partition = partition
        self.scope = scope
        self.profiles = profiles
        self.match_keys = match_keys
        self.author_types = author_types
        self.size_bytes = size_bytes
        self.sequence = sequence

    @property
    def metadata(self) -> dict[str, Any]:
        """Anything carried with the batch (stored with it); a dict, empty by default."""
        found = self._metadata
        if found is None:
            found = self._metadata = {}
        return found

    @metadata.setter
    def metadata(self, value: dict[str, Any]) -> None:
        self._metadata = value

    def __len__(self) -> int:
        return len(self.messages)

    @property
    def due_at(self) -> datetime:
        """When the batch's window closes: ``expires_at``, or ``created_at`` if it has none.

        Every batch the batcher opens has an ``expires_at``; one built by hand without it
        counts as due from its creation.
        """
        due = self.expires_at
        return due if due is not None else self.created_at

    def add_message(self, message: BatchableMessage, now: datetime | None = None) -> None:
        """Append *message*; the due time does not move."""
        self.messages.append(message)
        self.size_bytes += message.size_bytes
        self.last_activity = now or self.last_activity
        if self.batch_type is not _TEAM:
            own = _TYPE_OF[message.content_type]
            if own is not self.batch_type and len(self.messages) > 1:
                self.batch_type = _TEAM

    def ordered_messages(self, priority_ordering: bool = True) -> list[BatchableMessage]:
        """Return the messages by priority (highest first), then event time, then arrival."""
        messages = self.messages
        if priority_ordering and messages:
            first = messages[0].priority
            for message in messages:
                if message.priority != first:
                    return sorted(messages, key=_by_priority_then_time)
        return sorted(messages, key=_by_time)  # one priority: by time (a C-level key)

    def should_flush(
        self, max_age_minutes: float = 5, max_size: int = 5, now: datetime | None = None
    ) -> bool:
        """Return True when the batch is full, or *now* is at or past its due time."""
        if len(self.messages) >= max_size:
            return True
        if now is None:
            return False
        by_age = self.created_at + timedelta(minutes=max_age_minutes)
        due = self.expires_at
        return now >= (by_age if due is None or by_age < due else due)

    def get_summary_stats(self) -> dict[str, Any]:
        """Return counts by content type and priority, the authors and the event time range."""
        messages = self.messages
        authors: list[str] = []
        for message in messages:
            if message.author and message.author not in authors:
                authors.append(message.author)
        return {
            "total_count": len(messages),
            "content_types": dict(Counter(m.content_type.value for m in messages)),
            "authors": authors,
            "priority_counts": dict(Counter(m.priority for m in messages)),
            "time_range": {
                "start": min((m.timestamp for m in messages), default=None),
                "end": max((m.timestamp for m in messages), default=None),
            },
        }

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready description (messages included) for stores and inspection."""
        return {
            "id": self.id,
            "channel_id": self.channel_id,
            "batch_type": self.batch_type.value,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.due_at.isoformat(),
            "last_activity": (self.last_activity or self.created_at).isoformat(),
            "metadata": self.metadata,
            "messages": [m.to_dict() for m in self.messages],
        }
