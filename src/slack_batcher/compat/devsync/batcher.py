"""DevSync's ``MessageBatcher``: its methods and return shapes over our core batcher.

Placement, flushing, rendering and statistics are the core's (:attr:`MessageBatcher.core`,
a :class:`slack_batcher.MessageBatcher` on the system clock); this class changes only the
shapes DevSync code reads: the flush methods return lists, ``get_batch_stats`` has
DevSync's keys (beside ours), and channel statistics come as DevSync's
:class:`~slack_batcher.compat.devsync.ChannelStats`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from ...core.batcher import MessageBatcher as CoreBatcher
from ...formatting.factory import SlackMessageFormatterFactory
from ...formatting.message import SlackMessage
from ...model.clock import Clock
from ...model.message import BatchableMessage as CoreMessage
from .config import BatchConfig
from .model import ChannelStats

__all__ = ["MessageBatcher"]

_MEBIBYTE = 1024 * 1024


def _listed(by_channel: dict[str, list[SlackMessage]]) -> list[SlackMessage]:
    """Return the messages of a by-channel dict as one list, channel by channel."""
    return [message for messages in by_channel.values() for message in messages]


def _marked(message: SlackMessage | None) -> SlackMessage | None:
    """Add DevSync's ``is_batched`` flag to a returned message's metadata."""
    if message is not None:
        message.metadata.setdefault("is_batched", True)
    return message


class MessageBatcher:
    """Channel-aware batching with DevSync's API.

    ``MessageBatcher(config=None, formatter_factory=None)`` as in DevSync. A
    *formatter_factory* that is our :class:`~slack_batcher.SlackMessageFormatterFactory`
    renders the batches; any other object is kept as ``_formatter_factory`` and not used
    (DevSync did not use it either). *clock* (ours) replaces the system clock, for tests.
    An invalid *config* that our core cannot run raises
    :class:`~slack_batcher.ConfigError`; DevSync's advisory limits only log a warning.
    """

    def __init__(
        self,
        config: BatchConfig | None = None,
        formatter_factory: object | None = None,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.config = config if config is not None else BatchConfig()
        self.logger = logging.getLogger(__name__)
        self._formatter_factory = formatter_factory
        factory = (
            formatter_factory
            if isinstance(formatter_factory, SlackMessageFormatterFactory)
            else None
        )
        #: The main API's batcher doing the work: move to it at your own pace.
        self.core = CoreBatcher(self.config, factory, clock=clock)
        self._started = datetime.now()
        self._last_activity: datetime | None = None

    def add_message(self, message: CoreMessage, channel_id: str = "default") -> SlackMessage | None:
        """Add *message* to *channel_id*'s batches; return a message when a batch is ready.

        A batch is ready when full, or when a critical message joins it. With batching
        disabled (``enabled=False``) every message comes back at once, alone (DevSync
        dropped it). A message id already pending in the channel is ignored.
        """
        ready = self.core.add_message(message, channel_id)
        self._last_activity = datetime.now()
        return _marked(ready)

    def flush_all_batches(self) -> list[SlackMessage]:
        """Flush every pending batch of every channel; return the messages."""
        return [m for m in _listed(self.core.flush_all_batches()) if _marked(m)]

    def flush_channel_batches(self, channel_id: str) -> list[SlackMessage]:
        """Flush every pending batch of *channel_id*; return its messages."""
        return [m for m in self.core.flush_channel_batches(channel_id) if _marked(m)]

    def flush_expired_batches(self) -> list[SlackMessage]:
        """Flush the batches whose window has closed; return the messages."""
        return [m for m in _listed(self.core.flush_expired_batches()) if _marked(m)]

    def get_batch_stats(self) -> dict[str, Any]:
        """Return DevSync's statistics keys, with the main API's keys beside them.

        ``active_batches`` and ``pending_messages`` are what is pending now,
        ``channels_active`` the channels with pending batches, ``batches_flushed`` the
        batches turned into messages; times are naive local, as DevSync's were.
        """
        core = self.core.get_batch_stats()
        flushed = core["batches_sent"]
        average = core["average_time_to_send"]
        return {
            **core,
            "batches_created": core["batches_created"],
            "messages_batched": core["messages_batched"],
            "batches_flushed": flushed,
            "similarity_matches": core["messages_batched"] - core["batches_created"],
            "channels_active": core["active_channels"],
            "batches_by_channel": {
                channel: figures["pending_batches"]
                for channel, figures in core["by_channel"].items()
                if figures["pending_batches"]
            },
            "batches_by_type": core["batches_by_type"],
            "total_processing_time_seconds": average * flushed,
            "average_batch_processing_time": average,
            "peak_concurrent_batches": core["peak_concurrent_batches"],
            "memory_usage_mb": core["memory_estimate_bytes"] / _MEBIBYTE,
            "error_count": core["errors"],
            "last_activity": self._last_activity,
            "system_start_time": self._started,
            "active_batches": core["batches_pending"],
            "pending_messages": core["messages_pending"],
        }

    def get_channel_stats(self, channel_id: str) -> ChannelStats | None:
        """Return *channel_id*'s statistics (pending figures current), or None if unknown."""
        stats = self.core.get_channel_stats(channel_id)
        return ChannelStats.from_core(stats) if stats is not None else None

    def get_all_channel_stats(self) -> dict[str, ChannelStats]:
        """Return the statistics of every channel seen."""
        found: dict[str, ChannelStats] = {}
        for channel_id in self.core.get_batch_stats()["by_channel"]:
            stats = self.get_channel_stats(channel_id)
            if stats is not None:
                found[channel_id] = stats
        return found

    # The seed's other methods, as the main API has them.

    def get_health_status(self) -> dict[str, Any]:
        """Return the overall status, named checks and insights (the main API's)."""
        return self.core.get_health_status()

    def inspect_pending_batches(self, channel_id: str | None = None) -> dict[str, Any]:
        """Describe the pending batches without sending anything (the main API's)."""
        return self.core.inspect_pending_batches(channel_id)

    def force_flush_batch(self, batch_id: str) -> SlackMessage | None:
        """Flush one batch now; None if no pending batch has that id."""
        return _marked(self.core.force_flush_batch(batch_id))

    def cleanup_stale_batches(self, max_age_hours: float = 24) -> int:
        """Dead-letter batches pending longer than *max_age_hours*; return how many."""
        return self.core.cleanup_stale_batches(max_age_hours)
