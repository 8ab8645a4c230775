"""Block Kit rendering of batches: messages, formatters, escaping and Slack's limits."""

from .context import BatchFormatterContext, MessageType
from .escape import escape_mrkdwn
from .factory import SlackMessageFormatterFactory
from .fallback import format_fallback
from .message import SlackMessage

__all__ = [
    "BatchFormatterContext",
    "MessageType",
    "SlackMessage",
    "SlackMessageFormatterFactory",
    "escape_mrkdwn",
    "format_fallback",
]
