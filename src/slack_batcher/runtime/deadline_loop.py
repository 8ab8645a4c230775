"""The deadline task: flush due batches, then sleep until the batcher's next due time.

A submit that opens an earlier deadline wakes it (:meth:`DeadlineLoop.wake_if_earlier`).
Every ``cleanup_interval_minutes`` it also dead-letters batches that could not be flushed
for ``stale_batch_hours`` (they stay listed and replayable) instead of retrying forever.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from .dispatch import INTERNAL_RETRY_SECONDS, Dispatcher
from .timers import ClockTimers, Signal

if TYPE_CHECKING:
    from ..core.batcher import MessageBatcher

__all__ = ["DeadlineLoop"]

logger = logging.getLogger(__name__)


class DeadlineLoop:
    """Flushes due batches on time and hands new outbox entries to the dispatcher."""

    def __init__(
        self, batcher: MessageBatcher, timers: ClockTimers, dispatcher: Dispatcher
    ) -> None:
        self._batcher = batcher
        self._timers = timers
        self._dispatcher = dispatcher
        self._signal = Signal(timers)
        #: When the task will wake next (None: only a signal wakes it).
        self.target: datetime | None = None

    def spawn(self) -> asyncio.Task[None]:
        """Start the task (the service cancels it at shutdown)."""
        return self._timers.spawn(self._run(), "slack-batcher-deadlines")

    def wake_if_earlier(self, due: datetime | None) -> None:
        """Wake the task when *due* comes before the time it sleeps until."""
        target = self.target
        if due is not None and (target is None or due < target):
            self._signal.fire()

    async def _run(self) -> None:
        batcher, dispatcher, clock = self._batcher, self._dispatcher, self._timers.clock
        cleanup_every = timedelta(minutes=batcher.config.cleanup_interval_minutes)
        next_cleanup = clock.now() + cleanup_every
        while True:
            try:
                batcher.flush_expired_batches()
                if clock.now() >= next_cleanup:
                    batcher.cleanup_stale_batches(batcher.config.stale_batch_hours)
                    next_cleanup = clock.now() + cleanup_every
            except Exception:
                logger.exception("flushing due batches failed")
            if not dispatcher.in_sync():
                dispatcher.collect()
            due = batcher.next_due_at()
            now = clock.now()
            if due is not None and due <= now:  # a batch failed to flush: try again later
                due = now + timedelta(seconds=INTERNAL_RETRY_SECONDS)
            if due is not None:
                due = min(due, next_cleanup)
            self.target = due
            await self._timers.wait(due, self._signal)
