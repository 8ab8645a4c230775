"""Previews of pending batches: the Slack message each would become, without flushing it."""

from __future__ import annotations

from ..batcher import MessageBatcher
from ..formatting.message import SlackMessage

__all__ = ["preview_batch"]


def preview_batch(batcher: MessageBatcher, batch_id: str) -> SlackMessage | None:
    """Render a pending batch as its post would look now; None when it is gone."""
    return batcher.preview_batch(batch_id)
