"""BatchErrorHandler: the recovery paths for formatter failures and resource pressure.

None of them drops a message: a failed formatter is replaced by the fallback formatter,
channel overflow and memory pressure *flush* batches early (into the outbox), and stale
batches become dead letters that can be replayed. The handler works through the batcher's
public methods and parts (its ``pending`` batches and ``recorder``), under its ``lock``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..formatting.context import BatchFormatterContext
from ..formatting.fallback import format_fallback
from ..formatting.message import SlackMessage
from ..model.batch import BatchGroup
from .flush import FlushReason

if TYPE_CHECKING:
    from .batcher import MessageBatcher

__all__ = ["BatchErrorHandler"]

logger = logging.getLogger(__name__)

#: Memory pressure flushes until the estimate is under this share of the budget.
MEMORY_TARGET_SHARE = 0.9


class BatchErrorHandler:
    """The seed's four recovery methods, wired to a :class:`MessageBatcher`."""

    def __init__(self, batcher: MessageBatcher) -> None:
        self._batcher = batcher

    def handle_formatter_error(self, batch_group: BatchGroup, error: Exception) -> SlackMessage:
        """Return the fallback rendering of *batch_group*, noting *error* in its metadata."""
        logger.warning(
            "formatter failed for batch %s (%s: %s); using the fallback formatter",
            batch_group.id,
            type(error).__name__,
            error,
        )
        config = self._batcher.config_for(batch_group.channel_id)
        context = BatchFormatterContext.from_batch(
            batch_group,
            priority_ordering=config.priority_ordering,
            enable_pagination=config.enable_pagination,
            items_per_page=config.items_per_page,
        )
        message = format_fallback(context, reason=f"{type(error).__name__}: {error}"[:500])
        message.metadata["formatter_error"] = type(error).__name__
        return message

    def handle_channel_overflow(self, max_channels: int) -> list[str]:
        """Flush the least recently active channels until a new one fits; return their ids."""
        batcher = self._batcher
        pending = batcher.pending
        flushed: list[str] = []
        with batcher.lock:
            while pending.channel_count() >= max_channels:
                channel_id = pending.least_active_channel()
                if channel_id is None:
                    break
                batcher.flush_early(pending.batch_ids(channel_id), FlushReason.OVERFLOW)
                if pending.batch_ids(channel_id):  # a batch failed to flush: stop, keep it
                    break
                flushed.append(channel_id)
        if flushed:
            logger.info("channel limit %d reached: flushed %s", max_channels, ", ".join(flushed))
        return flushed

    def handle_memory_pressure(self, threshold_mb: float) -> int:
        """Flush the oldest batches until the memory estimate is under 90% of *threshold_mb*.

        Returns how many batches were flushed.
        """
        return self.relieve_memory(int(threshold_mb * 1024 * 1024))

    def relieve_memory(self, budget_bytes: int) -> int:
        """Flush the oldest batches until the memory estimate is under 90% of *budget_bytes*.

        Returns how many batches were flushed.
        """
        batcher = self._batcher
        target = budget_bytes * MEMORY_TARGET_SHARE
        flushed = 0
        with batcher.lock:
            while batcher.recorder.memory_estimate() > target:
                batch_id = batcher.pending.oldest_id()
                if batch_id is None or not batcher.flush_early(
                    [batch_id], FlushReason.MEMORY_PRESSURE
                ):
                    break
                flushed += 1
        if flushed:
            logger.warning("memory budget reached: flushed %d oldest batches", flushed)
        return flushed

    def handle_stale_batches(self, max_age_hours: float) -> int:
        """Dead-letter batches pending longer than *max_age_hours*; return how many."""
        return self._batcher.cleanup_stale_batches(max_age_hours)
