"""Block Kit rendering of batches: messages, formatters, escaping and Slack's limits."""

from .context import BatchFormatterContext, MessageType
from .escape import escape_mrkdwn
from .factory import MessageFormatter, SlackMessageFormatterFactory
from .fallback import format_fallback
from .items import ContentFormatter, ItemFormatter, ItemView
from .message import SlackMessage
from .options import FormatOptions
from .validate import validate_message

__all__ = [
    "BatchFormatterContext",
    "ContentFormatter",
    "FormatOptions",
    "ItemFormatter",
    "ItemView",
    "MessageFormatter",
    "MessageType",
    "SlackMessage",
    "SlackMessageFormatterFactory",
    "escape_mrkdwn",
    "format_fallback",
    "validate_message",
]
