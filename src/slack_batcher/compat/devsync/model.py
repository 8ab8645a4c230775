"""DevSync's data types over ours: messages, batch groups, channel stats, formatter context.

Each is a subclass of the main API's class, so anything built here can be handed to the
core and the formatters. What differs is DevSync's behaviour where its code relies on it:

* DevSync works in naive local time (``datetime.now()``). A naive timestamp given to a
  :class:`BatchableMessage` is read as local time (the main API reads it as UTC) and kept
  timezone-aware in UTC; a :class:`BatchGroup` keeps its own times (``created_at``,
  ``expires_at``, ``last_activity``) in the flavour it was given, naive local by default,
  so ``datetime.now() - group.created_at`` works as it did.
* :meth:`BatchGroup.add_message` moves ``expires_at`` to the newest message's time plus
  five minutes and :meth:`BatchGroup.should_flush` reads the wall clock, as DevSync's did.
* :class:`ChannelStats` has DevSync's update methods and ``get_efficiency_metrics``; its
  ``average_time_to_send`` is in minutes, as DevSync's was.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import Any

from ...formatting.context import BatchFormatterContext as CoreFormatterContext
from ...model.batch import BatchGroup as CoreBatchGroup
from ...model.message import BatchableMessage as CoreMessage
from ...model.message import BatchType, ContentType
from ...model.stats import ChannelStats as CoreChannelStats

__all__ = [
    "BatchFormatterContext",
    "BatchGroup",
    "BatchableMessage",
    "ChannelStats",
    "local_naive",
    "now_like",
]

#: How far DevSync's ``BatchGroup.add_message`` pushes ``expires_at`` past a message's time.
_EXPIRY_STEP = timedelta(minutes=5)


def now_like(reference: datetime | None) -> datetime:
    """Return the current time in *reference*'s flavour: naive local, or aware."""
    if reference is not None and reference.tzinfo is not None:
        return datetime.now(reference.tzinfo)
    return datetime.now()


def local_naive(value: datetime) -> datetime:
    """Return *value* as a naive local time (DevSync's flavour); naive values unchanged."""
    return value if value.tzinfo is None else value.astimezone().replace(tzinfo=None)


def _like(value: datetime, reference: datetime) -> datetime:
    """Return *value* in *reference*'s flavour (naive local or aware), the same instant."""
    if (value.tzinfo is None) == (reference.tzinfo is None):
        return value
    return local_naive(value) if reference.tzinfo is None else value.astimezone(UTC)


class BatchableMessage(CoreMessage):
    """DevSync's message: ours, reading a naive ``timestamp`` as local time.

    ``BatchableMessage(id, content_type, timestamp, author=None, priority="medium",
    data={}, metadata={})`` as in DevSync; the timestamp may be left out (now). Bad fields
    raise :class:`~slack_batcher.InvalidMessageError` naming the field (DevSync accepted
    anything): a priority must be one of critical, high, medium, low, lowest.
    """

    __slots__ = ()

    def __init__(
        self,
        id: str,
        content_type: ContentType,
        timestamp: datetime | None = None,
        author: str | None = None,
        priority: str = "medium",
        data: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        size_bytes: int = 0,
    ) -> None:
        """Validate and build; see the class docstring."""
        if timestamp is None:
            timestamp = datetime.now(UTC)
        elif isinstance(timestamp, datetime) and timestamp.tzinfo is None:
            timestamp = timestamp.astimezone(UTC)  # naive: local time, as DevSync wrote it
        super().__init__(
            id,
            content_type,
            timestamp,
            author,
            priority,
            {} if data is None else data,
            {} if metadata is None else metadata,
        )


class BatchGroup(CoreBatchGroup):
    """DevSync's batch group, built as DevSync's was.

    ``BatchGroup(id, channel_id, batch_type, messages=None, created_at=now,
    expires_at=None, last_activity=now, metadata=None)``. See the module docstring for
    its times. ``batch_type`` stays what it was given.
    """

    __slots__ = ()

    def __init__(
        self,
        id: str,
        channel_id: str,
        batch_type: BatchType,
        messages: list[CoreMessage] | None = None,
        created_at: datetime | None = None,
        expires_at: datetime | None = None,
        last_activity: datetime | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Build a group; times default to the naive local now, as in DevSync."""
        now = datetime.now()
        super().__init__(
            id,
            channel_id,
            batch_type,
            created_at if created_at is not None else now,
            expires_at,
            list(messages) if messages is not None else [],
            last_activity if last_activity is not None else now,
            metadata if metadata is not None else {},
        )
        self.size_bytes = sum(m.size_bytes for m in self.messages)

    def add_message(self, message: CoreMessage, now: datetime | None = None) -> None:
        """Append *message*; ``expires_at`` becomes its time + 5 minutes if that is later."""
        self.messages.append(message)
        self.size_bytes += message.size_bytes
        expires = self.expires_at
        reference = expires if expires is not None else self.created_at
        candidate = _like(message.timestamp, reference) + _EXPIRY_STEP
        if expires is None or candidate > expires:
            self.expires_at = candidate
        self.last_activity = now if now is not None else now_like(self.created_at)

    def should_flush(
        self, max_age_minutes: float = 5, max_size: int = 5, now: datetime | None = None
    ) -> bool:
        """Return True when full, past ``expires_at``, or older than *max_age_minutes*.

        Times are read from the wall clock unless *now* is given.
        """
        if len(self.messages) >= max_size:
            return True
        expires = self.expires_at
        if expires is not None:
            current = _like(now, expires) if now is not None else now_like(expires)
            if current >= expires:
                return True
        created = self.created_at
        current = _like(now, created) if now is not None else now_like(created)
        return (current - created).total_seconds() / 60 >= max_age_minutes


class ChannelStats(CoreChannelStats):
    """DevSync's per-channel statistics: ours plus its update methods.

    ``average_time_to_send`` is in minutes here (the main API's is in seconds).
    """

    __slots__ = ()

    @classmethod
    def from_core(cls, stats: CoreChannelStats) -> ChannelStats:
        """Return DevSync's view of the core's *stats*: minutes, naive local time."""
        values = {f.name: getattr(stats, f.name) for f in fields(stats)}
        view = cls(**values)
        view.average_time_to_send = stats.average_time_to_send / 60
        if stats.last_activity is not None:
            view.last_activity = local_naive(stats.last_activity)
        return view

    def update_batch_created(self) -> None:
        """Count a new batch."""
        self.batches_created += 1
        self.active_batch_count += 1
        self.last_activity = datetime.now()

    def update_message_added(self, message_count: int = 1) -> None:
        """Count *message_count* messages added to batches."""
        self.messages_batched += message_count
        self.pending_message_count += message_count
        self.last_activity = datetime.now()

    def update_batch_sent(self, message_count: int, time_to_send_minutes: float) -> None:
        """Count a sent batch of *message_count* messages that waited *time_to_send_minutes*."""
        self.batches_sent += 1
        self.messages_sent += message_count
        self.active_batch_count = max(0, self.active_batch_count - 1)
        self.pending_message_count = max(0, self.pending_message_count - message_count)
        self.last_activity = datetime.now()
        n = self.batches_sent
        self.average_batch_size += (message_count - self.average_batch_size) / n
        self.average_time_to_send += (time_to_send_minutes - self.average_time_to_send) / n

    def get_efficiency_metrics(self) -> dict[str, float]:
        """Return the completion rate, messages per batch and a 0–1 efficiency score.

        The score is the completion rate times messages per batch over three (capped at 1),
        DevSync's measure.
        """
        created = self.batches_created
        if created == 0:
            return {
                "batch_completion_rate": 0.0,
                "messages_per_batch": 0.0,
                "batching_efficiency": 0.0,
            }
        completion = self.batches_sent / created
        per_batch = self.messages_batched / created
        return {
            "batch_completion_rate": completion,
            "messages_per_batch": per_batch,
            "batching_efficiency": completion * min(per_batch / 3.0, 1.0),
        }


class BatchFormatterContext(CoreFormatterContext):
    """The formatter context; :meth:`get_formatter_data` also gives DevSync's keys."""

    def get_formatter_data(self) -> dict[str, Any]:
        """Return ours (``items`` …) plus DevSync's ``messages``, times as ISO strings."""
        data = super().get_formatter_data()
        batch = self.batch_group
        start, end = self.time_range.get("start"), self.time_range.get("end")
        data["time_range"] = {
            "start": start.isoformat() if start else None,
            "end": end.isoformat() if end else None,
        }
        data["messages"] = [m.to_dict() for m in batch.messages]
        data["created_at"] = batch.created_at.isoformat()
        data["expires_at"] = batch.expires_at.isoformat() if batch.expires_at else None
        data["metadata"] = batch.metadata
        return data
