"""slack-batcher: channel-aware batching of Slack notifications.

The public API is what this module exports; everything else may change.
"""

import logging

from .core.batcher import AddResult, MessageBatcher
from .core.error_handler import BatchErrorHandler
from .delivery import (
    ConsoleSender,
    JsonlSender,
    PostResult,
    Sender,
    SlackSender,
    WebhookSender,
)
from .formatting import (
    BatchFormatterContext,
    FormatOptions,
    ItemView,
    MessageType,
    SlackMessage,
    SlackMessageFormatterFactory,
    escape_mrkdwn,
    validate_message,
)
from .model.batch import BatchGroup
from .model.clock import Clock, ManualClock, SystemClock
from .model.config import BatchConfig
from .model.errors import (
    BatchNotFoundError,
    ConfigError,
    DeliveryError,
    FormatterError,
    InvalidMessageError,
    MessageTooLargeError,
    PermanentDeliveryError,
    SchemaVersionError,
    SlackBatcherError,
    StoreCorruptError,
    StoreError,
    StoreFullError,
    TransientDeliveryError,
)
from .model.message import BatchableMessage, BatchStrategy, BatchType, ContentType, Priority
from .model.stats import ChannelStats
from .runtime import BatchingService, ServiceConfig
from .store import BatchStore, DeadLetter, MemoryStore, OutboxEntry, RedisStore, SQLiteStore

logging.getLogger(__name__).addHandler(logging.NullHandler())

__version__ = "0.1.0"

__all__ = [
    "AddResult",
    "BatchConfig",
    "BatchErrorHandler",
    "BatchFormatterContext",
    "BatchGroup",
    "BatchNotFoundError",
    "BatchStore",
    "BatchStrategy",
    "BatchType",
    "BatchableMessage",
    "BatchingService",
    "ChannelStats",
    "Clock",
    "ConfigError",
    "ConsoleSender",
    "ContentType",
    "DeadLetter",
    "DeliveryError",
    "FormatOptions",
    "FormatterError",
    "InvalidMessageError",
    "ItemView",
    "JsonlSender",
    "ManualClock",
    "MemoryStore",
    "MessageBatcher",
    "MessageTooLargeError",
    "MessageType",
    "OutboxEntry",
    "PermanentDeliveryError",
    "PostResult",
    "Priority",
    "RedisStore",
    "SQLiteStore",
    "SchemaVersionError",
    "Sender",
    "ServiceConfig",
    "SlackBatcherError",
    "SlackMessage",
    "SlackMessageFormatterFactory",
    "SlackSender",
    "StoreCorruptError",
    "StoreError",
    "StoreFullError",
    "SystemClock",
    "TransientDeliveryError",
    "WebhookSender",
    "__version__",
    "escape_mrkdwn",
    "validate_message",
]
