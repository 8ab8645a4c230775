"""Why a batch left the pending set: the vocabulary of every flush path and of the stats."""

from __future__ import annotations

from enum import StrEnum

from .errors import InvalidMessageError

__all__ = ["MAX_CHANNEL_ID_LENGTH", "FlushReason", "check_channel_id"]

#: Slack channel ids are short; anything this long is a mistake, refused naming the field.
MAX_CHANNEL_ID_LENGTH = 255


class FlushReason(StrEnum):
    """Why a batch left the pending set; the values key ``flush_reasons`` in the stats."""

    SIZE = "size"
    URGENT = "urgent"
    DISABLED = "disabled"
    WINDOW = "window"
    MANUAL = "manual"
    SHUTDOWN = "shutdown"
    OVERFLOW = "overflow"
    MEMORY_PRESSURE = "memory_pressure"
    #: ``flush_leading``: the first message of a quiet channel-and-digest-key.
    LEADING = "leading"


def check_channel_id(channel_id: object) -> None:
    """Raise :class:`~slack_batcher.model.errors.InvalidMessageError` for a bad channel id."""
    if not isinstance(channel_id, str) or not channel_id.strip():
        raise InvalidMessageError("channel_id", "must be a non-empty string")
    if len(channel_id) > MAX_CHANNEL_ID_LENGTH:
        raise InvalidMessageError(
            "channel_id", f"is {len(channel_id)} characters; at most {MAX_CHANNEL_ID_LENGTH}"
        )
