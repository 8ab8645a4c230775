"""SlackMessageFormatterFactory: routes a batch to the formatter for its message type."""

from __future__ import annotations

from .context import BatchFormatterContext
from .fallback import format_fallback
from .message import SlackMessage

__all__ = ["SlackMessageFormatterFactory"]


class SlackMessageFormatterFactory:
    """Turns batches into Slack messages."""

    def format_batch(self, context: BatchFormatterContext) -> SlackMessage:
        """Render the batch in *context* as one SlackMessage (with continuation pages)."""
        message = format_fallback(context)
        message.metadata["formatter"] = "default"
        return message
