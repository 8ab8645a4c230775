"""BatchErrorHandler: the recovery paths for formatter failures and resource pressure.

None of them drops a message: a failed formatter is replaced by the fallback formatter,
channel overflow and memory pressure *flush* batches early (into the outbox), and stale
batches become dead letters that can be replayed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from .batch import BatchGroup
from .formatting.context import BatchFormatterContext
from .formatting.fallback import format_fallback
from .formatting.message import SlackMessage

if TYPE_CHECKING:
    from .batcher import MessageBatcher

__all__ = ["BatchErrorHandler"]

logger = logging.getLogger(__name__)


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
        config = self._batcher.config
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
        flushed: list[str] = []
        while len(batcher._channels) >= max_channels:
            channel_id = batcher._least_active_channel()
            if channel_id is None:
                break
            queue = batcher._channels[channel_id]
            batcher._flush_side_path(list(queue.batches.values()), "overflow")
            if channel_id in batcher._channels:  # a batch failed to flush: stop, keep it
                break
            flushed.append(channel_id)
        if flushed:
            logger.info("channel limit %d reached: flushed %s", max_channels, ", ".join(flushed))
        return flushed

    def handle_memory_pressure(self, threshold_mb: float) -> int:
        """Flush the oldest batches until the memory estimate is under 90% of *threshold_mb*.

        Returns how many batches were flushed.
        """
        batcher = self._batcher
        target = threshold_mb * 1024 * 1024 * 0.9
        flushed = 0
        while batcher._memory_estimate() > target:
            batch = batcher._oldest_batch()
            if batch is None or not batcher._flush_side_path([batch], "memory_pressure"):
                break
            flushed += 1
        if flushed:
            logger.warning("memory budget reached: flushed %d oldest batches", flushed)
        return flushed

    def handle_stale_batches(self, max_age_hours: float) -> int:
        """Dead-letter batches pending longer than *max_age_hours*; return how many."""
        return self._batcher.cleanup_stale_batches(max_age_hours)
