"""Stats and health recording: the counters the batcher keeps as it works, and the reports.

:class:`StatsRecorder` owns the global counters, the per-channel stats (with bounded retention),
the recent-error window and the attached :class:`~slack_batcher.model.stats.StatsContributor`
objects. The batcher's hot path updates the counters of ``recorder.stats`` directly, and a
channel's activity on its :class:`~slack_batcher.core.grouping.ChannelQueue` while it has
pending work (folded into the channel's stats by :meth:`StatsRecorder.closed`, and merged into
every report); the rest goes through the methods here. Not thread safe by itself: the batcher's
lock guards it.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from ..model.batch import BatchGroup
from ..model.config import BatchConfig
from ..model.message import BatchType
from ..model.stats import ChannelStats, GlobalBatchStats, StatsContributor
from ..store.base import DeadLetter
from .health import evaluate_health

__all__ = ["MESSAGE_OVERHEAD_BYTES", "PendingView", "StatsRecorder"]

#: Rough per-message cost of the Python objects around a message's data, for the memory estimate.
MESSAGE_OVERHEAD_BYTES = 400
#: Recent operations remembered for the health check's error rate.
ERROR_WINDOW = 1000
#: Channels the health report lists as the busiest.
_BUSIEST = 5
#: Each batch type's value (a dict lookup: the enum's ``value`` is a descriptor call per flush).
_TYPE_VALUES = {kind: kind.value for kind in BatchType}


class PendingView(Protocol):
    """What the recorder reads about one channel's pending work."""

    @property
    def batches(self) -> Mapping[str, BatchGroup]:
        """Open batches by id."""
        ...

    @property
    def pending_messages(self) -> int:
        """Messages pending in the channel."""
        ...

    @property
    def open_count(self) -> int:
        """How many batches are open in the channel."""
        ...

    @property
    def created(self) -> int:
        """Batches opened in the channel since it last had nothing pending."""
        ...

    @property
    def batched(self) -> int:
        """Messages placed in the channel since it last had nothing pending."""
        ...

    def last_activity(self) -> datetime | None:
        """When a message last joined one of the channel's batches."""
        ...


class StatsRecorder:
    """Counts what the batcher does and reports it as stats and health."""

    def __init__(self, config: BatchConfig, started_at: datetime) -> None:
        self.config = config
        self.stats = GlobalBatchStats(started_at=started_at)
        self.channels: dict[str, ChannelStats] = {}
        #: The operation numbers (``stats.operations`` then) of the recent failed operations.
        self.recent_errors: deque[int] = deque(maxlen=ERROR_WINDOW)
        self.contributors: list[StatsContributor] = []
        self._retention = max(1000, 10 * config.max_channels)
        #: Channel ids with pending work: their stats are never evicted.
        self._busy: Mapping[str, PendingView] = {}

    def watch_pending(self, channels: Mapping[str, PendingView]) -> None:
        """Read the live activity of *channels* (those with pending work); never evict them."""
        self._busy = channels

    # ---------------------------------------------------------------- recording

    def channel(self, channel_id: str) -> ChannelStats:
        """Return *channel_id*'s stats, creating them (and evicting idle ones past retention)."""
        stats = self.channels.get(channel_id)
        if stats is None:
            stats = ChannelStats(channel_id=channel_id)
            self.channels[channel_id] = stats
            if len(self.channels) > self._retention:
                self._evict()
        return stats

    def _evict(self) -> None:
        """Drop the stats of the least recently active channels with nothing pending.

        Runs when retention is exceeded: drops a tenth at once, so its scan is amortised.
        """
        busy = self._busy
        idle = [c for c in self.channels.values() if c.channel_id not in busy]
        idle.sort(key=lambda c: c.last_activity or self.stats.started_at)
        for channel in idle[: max(1, self._retention // 10)]:
            del self.channels[channel.channel_id]

    def error(self) -> None:
        """Count one failed operation (a formatter or store error)."""
        self.stats.errors += 1
        self.recent_errors.append(self.stats.operations)

    def duplicate(self, channel_id: str) -> None:
        """Count a message id already pending in *channel_id*."""
        self.stats.duplicates += 1
        self.channel(channel_id).duplicates += 1

    def recovered_batch(self) -> None:
        """Count a batch found pending in the store at start (the batcher counts new ones)."""
        stats = self.stats
        stats.pending_batches += 1
        stats.peak_concurrent_batches = max(stats.peak_concurrent_batches, stats.pending_batches)
        stats.batches_recovered += 1

    def closed(self, channel_id: str, queue: PendingView, stats: ChannelStats | None) -> None:
        """Fold the activity of *channel_id*'s queue, which has nothing pending any more."""
        channel = stats if stats is not None else self.channel(channel_id)
        channel.batches_created += queue.created
        channel.messages_batched += queue.batched
        when = queue.last_activity()
        if when is not None and (channel.last_activity is None or when > channel.last_activity):
            channel.last_activity = when

    def _live(self, channel: ChannelStats, queue: PendingView | None) -> ChannelStats:
        """Return a copy of *channel* with the activity of its pending *queue* added."""
        if queue is None:
            return replace(channel, active_batch_count=0, pending_message_count=0)
        last = channel.last_activity
        when = queue.last_activity()
        return replace(
            channel,
            batches_created=channel.batches_created + queue.created,
            messages_batched=channel.messages_batched + queue.batched,
            last_activity=when if when is not None and (last is None or when > last) else last,
            active_batch_count=queue.open_count,
            pending_message_count=queue.pending_messages,
        )

    def recovered_message(self, channel_id: str, size_bytes: int, when: datetime) -> None:
        """Count a message recovered from the store: pending again, not batched anew."""
        stats = self.stats
        stats.messages_recovered += 1
        stats.pending_messages += 1
        stats.pending_bytes += size_bytes
        channel = self.channel(channel_id)
        channel.last_activity = max(channel.last_activity or when, when)

    def left(self, batch: BatchGroup) -> None:
        """Count a batch that stopped being pending (flushed or dead-lettered)."""
        stats = self.stats
        stats.pending_batches -= 1
        stats.pending_messages -= len(batch.messages)
        stats.pending_bytes -= batch.size_bytes

    def flushed(self, batch: BatchGroup, reason: str, waited: float) -> None:
        """Count a flushed *batch* whose first message waited *waited* seconds."""
        size = len(batch.messages)
        stats = self.stats
        stats.batches_sent += 1
        stats.messages_sent += size
        stats.seconds_to_send += waited
        stats.flush_reasons[str(reason)] += 1
        stats.batches_by_type[_TYPE_VALUES[batch.batch_type]] += 1
        channel = self.channels.get(batch.channel_id)  # self.channel(), inlined when known
        if channel is None:
            channel = self.channel(batch.channel_id)
        channel.record_sent(size, waited)

    def dead_lettered(self, letter: DeadLetter) -> None:
        """Count a new dead letter."""
        self.stats.dead_letters_created += 1
        self.stats.messages_dead_lettered += len(letter.messages)
        self.channel(letter.channel_id).dead_lettered += len(letter.messages)

    def memory_estimate(self) -> int:
        """Bytes of pending messages, data plus a fixed per-message overhead."""
        stats = self.stats
        return stats.pending_bytes + MESSAGE_OVERHEAD_BYTES * stats.pending_messages

    # ---------------------------------------------------------------- contributors

    def add_contributor(self, contributor: StatsContributor) -> None:
        """Include *contributor*, replacing one of the same ``name``."""
        self.contributors = [c for c in self.contributors if c.name != contributor.name]
        self.contributors.append(contributor)

    def remove_contributor(self, contributor: StatsContributor) -> None:
        """Stop including *contributor* (a no-op if it was not attached)."""
        if contributor in self.contributors:
            self.contributors.remove(contributor)

    # ---------------------------------------------------------------- reports

    def channel_snapshot(self, channel_id: str, queue: PendingView | None) -> ChannelStats | None:
        """Return a copy of *channel_id*'s stats with its pending figures, or None."""
        stats = self.channels.get(channel_id)
        if stats is None:
            return None
        return self._live(stats, queue)

    def batch_stats(
        self, *, now: datetime, queues: Mapping[str, PendingView], outbox_size: int
    ) -> dict[str, Any]:
        """Return the global statistics (``get_batch_stats``)."""
        stats = self.stats
        by_channel = {}
        for cid, channel in self.channels.items():
            queue = queues.get(cid)
            if queue is None:  # nothing pending: its figures are all folded in
                by_channel[cid] = {
                    "batches_created": channel.batches_created,
                    "batches_sent": channel.batches_sent,
                    "messages_batched": channel.messages_batched,
                    "pending_batches": 0,
                    "pending_messages": 0,
                }
            else:
                by_channel[cid] = {
                    "batches_created": channel.batches_created + queue.created,
                    "batches_sent": channel.batches_sent,
                    "messages_batched": channel.messages_batched + queue.batched,
                    "pending_batches": queue.open_count,
                    "pending_messages": queue.pending_messages,
                }
        return {
            "batches_created": stats.batches_created,
            "batches_sent": stats.batches_sent,
            "batches_pending": stats.pending_batches,
            "messages_received": stats.messages_received,
            "messages_batched": stats.messages_batched,
            "messages_sent": stats.messages_sent,
            "messages_pending": stats.pending_messages,
            "duplicates": stats.duplicates,
            "rejected": stats.rejected,
            "dead_letters_created": stats.dead_letters_created,
            "messages_dead_lettered": stats.messages_dead_lettered,
            "replayed": stats.replayed,
            "batches_recovered": stats.batches_recovered,
            "messages_recovered": stats.messages_recovered,
            "outbox_pending": outbox_size,
            "active_channels": len(queues),
            "average_batch_size": round(stats.average_batch_size, 3),
            "average_time_to_send": round(stats.average_time_to_send, 3),
            "peak_concurrent_batches": stats.peak_concurrent_batches,
            "errors": stats.errors,
            "error_rate": round(stats.error_rate, 4),
            "api_posts_saved": stats.messages_sent - stats.batches_sent,
            "memory_estimate_bytes": self.memory_estimate(),
            "uptime_seconds": round((now - stats.started_at).total_seconds(), 3),
            "flush_reasons": dict(stats.flush_reasons),
            "batches_by_type": dict(stats.batches_by_type),
            "messages_by_type": {k: n for k, n in stats.messages_by_type.items() if n},
            "formatter": {
                "formatter_used": stats.formatter_used,
                "fallback_used": stats.fallback_used,
                "formatter_errors": stats.formatter_errors,
            },
            "by_channel": by_channel,
            **{c.name: c.stats() for c in self.contributors},
        }

    def health(
        self,
        *,
        now: datetime,
        due_times: Iterable[datetime],
        channel_count: int,
        outbox_size: int,
    ) -> dict[str, Any]:
        """Return the health status (``get_health_status``)."""
        extra = [check for c in self.contributors for check in c.health_checks(now)]
        operations = self.stats.operations
        window_start = operations - ERROR_WINDOW  # the window: the operations after this one
        busy = self._busy

        def batched(item: tuple[str, ChannelStats]) -> int:
            queue = busy.get(item[0])
            return item[1].messages_batched + (queue.batched if queue is not None else 0)

        # The health report names the five busiest channels: only those are copied with
        # their live figures (nlargest keeps the order of ties, as a stable sort does).
        busiest = heapq.nlargest(_BUSIEST, self.channels.items(), key=batched)
        return evaluate_health(
            config=self.config,
            now=now,
            extra_checks=extra,
            stats=self.stats,
            due_times=list(due_times),
            channel_count=channel_count,
            recent_errors=sum(1 for n in self.recent_errors if n > window_start),
            recent_operations=min(operations, ERROR_WINDOW),
            memory_estimate=self.memory_estimate(),
            outbox_size=outbox_size,
            channel_stats=[self._live(c, busy.get(cid)) for cid, c in busiest],
        )
