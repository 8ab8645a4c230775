"""DevSync's ``devsync_ai.core.message_batcher`` API, backed by slack-batcher's core.

Code written against DevSync's module migrates by changing one import::

    from slack_batcher.compat.devsync import BatchableMessage, ContentType, MessageBatcher

The names, signatures and return shapes are DevSync's (lists from the flush methods, its
statistics keys, its ``ChannelStats`` and ``BatchConfig`` methods); the batching, the
rendering and the statistics are ours. ``docs/migrating-from-devsync.md`` lists what
changes and how to move on to the main API (``MessageBatcher.core`` is its batcher).
"""

from ...formatting.context import MessageType
from ...formatting.message import SlackMessage
from ...model.message import BatchStrategy, BatchType, ContentType
from .batcher import MessageBatcher
from .config import BatchConfig
from .model import BatchableMessage, BatchFormatterContext, BatchGroup, ChannelStats

__all__ = [
    "BatchConfig",
    "BatchFormatterContext",
    "BatchGroup",
    "BatchStrategy",
    "BatchType",
    "BatchableMessage",
    "ChannelStats",
    "ContentType",
    "MessageBatcher",
    "MessageType",
    "SlackMessage",
    "default_message_batcher",
]

#: DevSync's module-level batcher, for code that used it.
default_message_batcher = MessageBatcher()
