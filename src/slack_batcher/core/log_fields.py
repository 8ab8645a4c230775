"""Structured fields on log records: ``channel``, ``batch_id``, ``outbox_id``, ``error_code``.

Log calls about a post or a batch pass them with ``extra=log_fields(...)``; the service's
JSON log format (``[logging] format = "json"``) writes each as its own key, so a log
pipeline can filter by channel or batch without parsing the text. The message text stays
as it was: the fields repeat what it says.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..store.base import OutboxEntry

__all__ = ["LOG_FIELDS", "entry_fields", "log_fields"]

#: The record attributes the JSON log format writes as keys, in this order.
LOG_FIELDS = ("channel", "batch_id", "outbox_id", "error_code")


def log_fields(
    *,
    channel: str | None = None,
    batch_id: str | None = None,
    outbox_id: str | None = None,
    error_code: str | None = None,
) -> dict[str, str]:
    """Return the given fields (None left out) for a log call's ``extra``."""
    values = (channel, batch_id, outbox_id, error_code)
    return {name: value for name, value in zip(LOG_FIELDS, values, strict=True) if value}


def entry_fields(entry: OutboxEntry, *, error_code: str | None = None) -> dict[str, str]:
    """Return the fields of a log line about an outbox entry (a post on its way)."""
    return log_fields(
        channel=entry.channel_id,
        batch_id=entry.batch_id,
        outbox_id=entry.id,
        error_code=error_code,
    )
