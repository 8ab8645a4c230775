"""Previews of pending batches: the Slack message each would become, without flushing it."""

from __future__ import annotations

from dataclasses import replace

from ..batch import BatchGroup
from ..batcher import MessageBatcher
from ..errors import SlackBatcherError
from ..formatting.context import BatchFormatterContext
from ..formatting.fallback import format_fallback
from ..formatting.message import SlackMessage

__all__ = ["pending_batch_copy", "preview_batch"]


def pending_batch_copy(batcher: MessageBatcher, batch_id: str) -> BatchGroup | None:
    """Return a copy of a pending batch, or None when no batch has that id.

    MessageBatcher has no public accessor for a pending batch's messages yet (only
    ``inspect_pending_batches()``, which summarises them), so this reads its index under
    its lock; the copy is never handed back to the batcher.
    """
    with batcher._lock:
        batch = batcher._batches.get(batch_id)
        if batch is None:
            return None
        return replace(batch, messages=list(batch.messages), metadata=dict(batch.metadata))


def preview_batch(batcher: MessageBatcher, batch_id: str) -> SlackMessage | None:
    """Render a pending batch as its post would look now; None when it is gone.

    Uses the batcher's formatter factory (or the fallback formatter), on a copy: nothing is
    flushed, counted or stored.
    """
    batch = pending_batch_copy(batcher, batch_id)
    if batch is None:
        return None
    config = batcher.config
    context = BatchFormatterContext.from_batch(
        batch,
        formatter_factory=batcher.formatter_factory,
        priority_ordering=config.priority_ordering,
        enable_pagination=config.enable_pagination,
        items_per_page=config.items_per_page,
    )
    factory = batcher.formatter_factory if config.enable_formatter_integration else None
    if factory is not None:
        try:
            return factory.format_batch(context)
        except (SlackBatcherError, ValueError, TypeError, KeyError):
            pass  # the batcher falls back the same way when it flushes
    return format_fallback(context)
