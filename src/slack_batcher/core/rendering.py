"""Rendering a batch into the SlackMessage that is posted: formatter, fallback, metadata."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ..formatting.context import BatchFormatterContext
from ..formatting.factory import SlackMessageFormatterFactory
from ..formatting.fallback import format_fallback, render_fallback
from ..formatting.message import SlackMessage
from ..model.batch import BatchGroup
from ..model.config import BatchConfig
from ..model.errors import FormatterError
from ..model.message import BatchType
from ..store.base import OutboxEntry
from .recording import StatsRecorder

__all__ = ["batch_of", "deferred_message", "is_deferred", "render_batch"]

#: Metadata key of a flush whose rendering waits for its delivery (:func:`deferred_message`).
DEFERRED = "render_deferred"

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


def deferred_message(batch: BatchGroup) -> SlackMessage:
    """Return the stand-in a flush stores when its batch is rendered only if delivered.

    It carries the facts every post's metadata has (batch, channel, type, count, ids);
    :func:`batch_of` rebuilds the batch from its outbox entry for the real render.
    """
    return SlackMessage(
        [],
        "",
        batch.channel_id,
        None,
        {
            DEFERRED: True,
            "batch_id": batch.id,
            "channel": batch.channel_id,
            "batch_type": str(batch.batch_type),
            "message_count": len(batch.messages),
            "message_ids": [m.id for m in batch.messages],
            "created_at": batch.created_at.isoformat(),
        },
    )


def is_deferred(message: SlackMessage) -> bool:
    """Return True for the stand-in of a flush not rendered yet (:func:`deferred_message`)."""
    return bool(message.metadata.get(DEFERRED))


def batch_of(entry: OutboxEntry) -> BatchGroup:
    """Return the batch an outbox entry whose rendering was deferred was flushed from."""
    metadata = entry.message.metadata
    created = metadata.get("created_at")
    try:
        batch_type = BatchType(str(metadata.get("batch_type")))
    except ValueError:
        batch_type = BatchType.for_content_type(entry.messages[0].content_type)
    return BatchGroup(
        id=entry.batch_id,
        channel_id=entry.channel_id,
        batch_type=batch_type,
        created_at=(
            datetime.fromisoformat(created) if isinstance(created, str) else entry.flushed_at
        ),
        expires_at=entry.due_at,
        messages=list(entry.messages),
    )
