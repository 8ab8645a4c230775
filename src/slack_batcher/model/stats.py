"""Statistics and health: per channel, global, and the named health checks."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from .message import ContentType

__all__ = [
    "ChannelStats",
    "GlobalBatchStats",
    "HealthCheck",
    "StatsContributor",
    "overall_status",
]

HEALTHY = "healthy"
DEGRADED = "degraded"
UNHEALTHY = "unhealthy"


@dataclass(slots=True)
class ChannelStats:
    """What one channel's batching has done: the seed's fields plus efficiency figures.

    ``batches_sent`` counts flushed batches (posts produced); ``messages_sent`` the messages
    in them. Averages are over flushed batches; ``average_time_to_send`` is seconds from a
    batch's first message to its flush.
    """

    channel_id: str
    batches_created: int = 0
    batches_sent: int = 0
    messages_batched: int = 0
    average_batch_size: float = 0.0
    average_time_to_send: float = 0.0
    last_activity: datetime | None = None
    active_batch_count: int = 0
    pending_message_count: int = 0
    messages_sent: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    _seconds_to_send: float = 0.0

    @property
    def posts_saved(self) -> int:
        """Slack posts avoided: messages sent minus the posts they went out in."""
        return self.messages_sent - self.batches_sent

    @property
    def reduction_ratio(self) -> float:
        """Share of posts avoided, in [0, 1): 0.8 means five messages per post."""
        return self.posts_saved / self.messages_sent if self.messages_sent else 0.0

    def record_sent(self, size: int, seconds_to_send: float) -> None:
        """Count a flushed batch of *size* messages that waited *seconds_to_send*."""
        self.batches_sent += 1
        self.messages_sent += size
        self._seconds_to_send += seconds_to_send
        self.average_batch_size = self.messages_sent / self.batches_sent
        self.average_time_to_send = self._seconds_to_send / self.batches_sent

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict, efficiency figures included."""
        return {
            "channel_id": self.channel_id,
            "batches_created": self.batches_created,
            "batches_sent": self.batches_sent,
            "messages_batched": self.messages_batched,
            "messages_sent": self.messages_sent,
            "average_batch_size": round(self.average_batch_size, 3),
            "average_time_to_send": round(self.average_time_to_send, 3),
            "last_activity": self.last_activity.isoformat() if self.last_activity else None,
            "active_batch_count": self.active_batch_count,
            "pending_message_count": self.pending_message_count,
            "duplicates": self.duplicates,
            "dead_lettered": self.dead_lettered,
            "posts_saved": self.posts_saved,
            "reduction_ratio": round(self.reduction_ratio, 4),
        }


@dataclass(slots=True)
class GlobalBatchStats:
    """Counters across all channels, kept incrementally (reading them walks no message)."""

    started_at: datetime
    messages_batched: int = 0
    #: Messages received that neither joined a batch nor were duplicates (a store failed).
    messages_unplaced: int = 0
    duplicates: int = 0
    rejected: int = 0
    batches_created: int = 0
    batches_sent: int = 0
    messages_sent: int = 0
    dead_letters_created: int = 0
    messages_dead_lettered: int = 0
    replayed: int = 0
    #: Batches and messages found pending in the store at start (not counted as created).
    batches_recovered: int = 0
    messages_recovered: int = 0
    pending_batches: int = 0
    pending_messages: int = 0
    pending_bytes: int = 0
    peak_concurrent_batches: int = 0
    errors: int = 0
    formatter_used: int = 0
    fallback_used: int = 0
    formatter_errors: int = 0
    seconds_to_send: float = 0.0
    flush_reasons: Counter[str] = field(default_factory=Counter)
    batches_by_type: Counter[str] = field(default_factory=Counter)
    #: Every content type is a key from the start (zero until seen): counted per message.
    messages_by_type: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ContentType, 0))

    # Derived rather than counted: the hot path increments as few counters as it can.
    @property
    def messages_received(self) -> int:
        """Messages submitted (valid ones), duplicates included."""
        return self.messages_batched + self.duplicates + self.messages_unplaced

    @property
    def operations(self) -> int:
        """Operations counted for the error rate: messages batched and failed operations."""
        return self.messages_batched + self.errors

    @property
    def average_batch_size(self) -> float:
        """Messages per flushed batch."""
        return self.messages_sent / self.batches_sent if self.batches_sent else 0.0

    @property
    def average_time_to_send(self) -> float:
        """Seconds from a batch's first message to its flush, on average."""
        return self.seconds_to_send / self.batches_sent if self.batches_sent else 0.0

    @property
    def error_rate(self) -> float:
        """Failed operations (formatter errors, store errors) per operation."""
        return self.errors / self.operations if self.operations else 0.0


@dataclass(slots=True)
class HealthCheck:
    """One named health check: the measured value against its threshold."""

    name: str
    status: str
    value: float
    threshold: float
    message: str

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "status": self.status,
            "value": self.value,
            "threshold": self.threshold,
            "message": self.message,
        }


def level(value: float, threshold: float, warn_share: float = 0.8) -> str:
    """Return unhealthy at or past *threshold*, degraded past *warn_share* of it."""
    if value >= threshold:
        return UNHEALTHY
    if value >= threshold * warn_share:
        return DEGRADED
    return HEALTHY


def overall_status(checks: list[HealthCheck]) -> str:
    """Return the worst status among *checks*."""
    statuses = {check.status for check in checks}
    if UNHEALTHY in statuses:
        return UNHEALTHY
    if DEGRADED in statuses:
        return DEGRADED
    return HEALTHY


@runtime_checkable
class StatsContributor(Protocol):
    """A part outside the core (the delivery runtime, say) that adds to stats and health.

    Attach with :meth:`MessageBatcher.add_stats_contributor`; its ``name`` keys its section
    in ``get_batch_stats()`` and its checks join ``get_health_status()``.
    """

    name: str

    def stats(self) -> dict[str, Any]:
        """Return this part's figures (JSON-ready)."""
        ...

    def health_checks(self, now: datetime) -> list[HealthCheck]:
        """Return this part's named health checks."""
        ...
