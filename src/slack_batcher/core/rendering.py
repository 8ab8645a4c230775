"""Rendering a batch into the SlackMessage that is posted: formatter, fallback, metadata."""

from __future__ import annotations

from collections.abc import Callable

from ..formatting.context import BatchFormatterContext
from ..formatting.factory import SlackMessageFormatterFactory
from ..formatting.fallback import format_fallback, render_fallback
from ..formatting.message import SlackMessage
from ..model.batch import BatchGroup
from ..model.config import BatchConfig
from ..model.errors import FormatterError
from .recording import StatsRecorder

__all__ = ["render_batch"]

#: Replace a failed formatter's output (the error handler's ``handle_formatter_error``).
OnFormatterError = Callable[[BatchGroup, Exception], SlackMessage]


def render_batch(
    batch: BatchGroup,
    *,
    config: BatchConfig,
    factory: SlackMessageFormatterFactory | None,
    recorder: StatsRecorder,
    on_error: OnFormatterError,
    preview: bool = False,
) -> SlackMessage:
    """Format *batch* with *config*'s options; a preview counts nothing and always falls back.

    A failing formatter is replaced by ``on_error`` when ``fallback_formatting`` is on, else
    raises :class:`~slack_batcher.model.errors.FormatterError`.
    """
    formatter = factory if config.enable_formatter_integration else None
    stats = recorder.stats
    if formatter is None:  # no context needed: the fallback reads the batch itself
        message = render_fallback(
            batch,
            channel_id=batch.channel_id,
            priority_ordering=config.priority_ordering,
            enable_pagination=config.enable_pagination,
            items_per_page=config.items_per_page,
        )
        stats.fallback_used += not preview
    else:
        context = BatchFormatterContext.from_batch(
            batch,
            formatter_factory=factory,
            priority_ordering=config.priority_ordering,
            enable_pagination=config.enable_pagination,
            items_per_page=config.items_per_page,
        )
        try:
            message = formatter.format_batch(context)
            stats.formatter_used += not preview
        except Exception as exc:
            if preview:
                message = format_fallback(context, reason=f"{type(exc).__name__}: {exc}")
            else:
                stats.formatter_errors += 1
                recorder.error()
                if not config.fallback_formatting:
                    raise FormatterError(f"formatting batch {batch.id} failed: {exc}") from exc
                message = on_error(batch, exc)
                stats.fallback_used += 1
    message.channel = batch.channel_id
    metadata = message.metadata
    metadata.setdefault("batch_id", batch.id)
    metadata.setdefault("channel", batch.channel_id)
    metadata.setdefault("message_count", len(batch.messages))
    if "message_ids" not in metadata:
        metadata["message_ids"] = [m.id for m in batch.messages]
    for page in message.continuations:
        page.channel = batch.channel_id
    return message
