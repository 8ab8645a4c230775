"""The seed's facade methods that hand work to the batcher's parts.

:class:`MessageBatcher` keeps every method of the seed; those that only delegate (to the
outbox, the dead letters, the stats recorder and the store's thread map) or answer a
question about the pending set (resource control) live here, so ``batcher.py`` holds
placement and ``flushing.py`` the flush paths. Each takes the batcher's lock where the part
does not.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from ..model.batch import BatchGroup
from ..model.clock import Clock
from ..model.message import BatchableMessage
from ..model.stats import ChannelStats, StatsContributor
from ..store.base import BatchStore, DeadLetter, OutboxEntry
from .activity import LeastActive
from .dead_letters import DeadLetters
from .deadlines import Deadlines
from .grouping import ChannelQueue
from .outbox import Outbox
from .recording import StatsRecorder

__all__ = ["BatcherDelegates"]


class BatcherDelegates:
    """Mixed into :class:`~slack_batcher.core.batcher.MessageBatcher`; see its docstring."""

    outbox: Outbox
    letters: DeadLetters
    recorder: StatsRecorder
    store: BatchStore
    clock: Clock
    _lock: threading.RLock
    _channels: Mapping[str, ChannelQueue]
    _batches: Mapping[str, BatchGroup]
    _least_active: LeastActive
    _deadlines: Deadlines

    def _requeue(self, message: BatchableMessage, channel_id: str) -> bool:
        """Add *message* on a side path; return True when it was a duplicate."""
        raise NotImplementedError

    def _store_call(self, method: Any, *args: Any) -> Any:
        raise NotImplementedError

    # -------------------------------------------------------- resource control

    def channel_count(self) -> int:
        """Return how many channels have pending batches."""
        return len(self._channels)

    def least_active_channel(self) -> str | None:
        """Return the channel with pending batches that was least recently active, or None."""
        with self._lock:
            return self._least_active.find(self._channels)

    def oldest_batch_id(self) -> str | None:
        """Return the id of the pending batch opened first, or None."""
        with self._lock:
            return next(iter(self._batches), None)

    def pending_batch_ids(self, channel_id: str) -> list[str]:
        """Return *channel_id*'s pending batch ids, in opening order."""
        with self._lock:
            queue = self._channels.get(channel_id)
            return list(queue.batches) if queue else []

    def memory_estimate(self) -> int:
        """Return the estimated bytes held by pending messages (see ``memory_budget_bytes``)."""
        return self.recorder.memory_estimate()

    def next_due_at(self) -> datetime | None:
        """Return when the next pending batch falls due, or None when nothing is pending."""
        with self._lock:
            return self._deadlines.next_due()

    def placed_due_at(self) -> datetime | None:
        """Return the earliest due time known without a store round trip.

        What a submit asks to know whether the deadline timer must wake sooner. Here that
        is :meth:`next_due_at`; a batcher whose pending set lives elsewhere (shared Redis)
        answers from its own placements.
        """
        return self.next_due_at()

    # ------------------------------------------------------ outbox and letters

    def pending_outbox(self, limit: int | None = None) -> list[OutboxEntry]:
        """Return flushed messages not yet acknowledged, oldest first."""
        return self.outbox.entries(limit)

    def outbox_size(self) -> int:
        """Return how many flushed messages wait in the outbox."""
        return self.outbox.size()

    def ack(self, outbox_id: str) -> bool:
        """Mark an outbox entry delivered; False if it was not in the outbox."""
        return self.outbox.ack(outbox_id)

    def update_outbox(self, entry: OutboxEntry) -> None:
        """Save a delivery attempt's progress (attempts, next attempt, error, sender state)."""
        self.outbox.update(entry)

    def drain_outbox(self) -> list[OutboxEntry]:
        """Return every outbox entry and acknowledge it: the caller now owns delivery."""
        return self.outbox.drain()

    def dead_letter_outbox(
        self, outbox_id: str, reason: str, error_code: str | None = None
    ) -> DeadLetter | None:
        """Move an undeliverable outbox entry to the dead letters; None if not in the outbox."""
        return self.outbox.dead_letter(outbox_id, reason, error_code)

    def add_outbox_listener(self, listener: Callable[[OutboxEntry], None]) -> None:
        """Call *listener* with every entry written to the outbox, as it is written.

        It runs under the batcher's lock, in whichever thread flushed: keep it short (hand the
        entry to a queue). Entries already in the outbox are not replayed to it; use
        :meth:`Outbox.subscribe` to get those too.
        """
        self.outbox.add_listener(listener)

    def remove_outbox_listener(self, listener: Callable[[OutboxEntry], None]) -> None:
        """Stop calling *listener* (a no-op if it was not added)."""
        self.outbox.remove_listener(listener)

    def dead_letters(self, channel_id: str | None = None) -> list[DeadLetter]:
        """Return the dead letters, oldest first, optionally of one channel."""
        return self.letters.list(channel_id)

    def replay_dead_letter(self, letter_id: str) -> int:
        """Re-queue a dead letter's messages for batching; return how many were re-queued.

        Messages already pending again in the channel are not added twice. Raises
        :class:`~slack_batcher.model.errors.BatchNotFoundError` for an unknown id.
        """
        return self.letters.replay(letter_id, self._requeue)

    def get_channel_stats(self, channel_id: str) -> ChannelStats | None:
        """Return a snapshot of *channel_id*'s statistics, or None for an unknown channel."""
        with self._lock:
            return self.recorder.channel_snapshot(channel_id, self._channels.get(channel_id))

    def get_batch_stats(self) -> dict[str, Any]:
        """Return global statistics; pending figures always agree with inspection."""
        with self._lock:
            return self.recorder.batch_stats(
                now=self.clock.now(), queues=self._channels, outbox_size=self.outbox.size()
            )

    def get_health_status(self) -> dict[str, Any]:
        """Return the overall status (healthy / degraded / unhealthy), named checks and insights."""
        with self._lock:
            return self.recorder.health(
                now=self.clock.now(),
                due_times=[b.due_at for b in self._batches.values()],
                channel_count=len(self._channels),
                outbox_size=self.outbox.size(),
            )

    def add_stats_contributor(self, contributor: StatsContributor) -> None:
        """Include *contributor*'s figures in the stats and its checks in the health status.

        A contributor with the same ``name`` (say, the delivery figures of an earlier
        service on this batcher) is replaced.
        """
        with self._lock:
            self.recorder.add_contributor(contributor)

    def remove_stats_contributor(self, contributor: StatsContributor) -> None:
        """Stop including *contributor* (a no-op if it was not attached)."""
        with self._lock:
            self.recorder.remove_contributor(contributor)

    def get_thread(self, thread_key: str) -> str | None:
        """Return the ``ts`` that posts about *thread_key* reply under, unless expired."""
        with self._lock:
            return self.store.get_thread(thread_key, self.clock.now())

    def set_thread(self, thread_key: str, ts: str, ttl: timedelta) -> None:
        """Make posts about *thread_key* reply under *ts* for *ttl* from now."""
        with self._lock:
            self._store_call(self.store.set_thread, thread_key, ts, self.clock.now() + ttl)
