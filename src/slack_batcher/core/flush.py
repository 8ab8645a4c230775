"""Why a batch was flushed, and what adding one message did."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..formatting.message import SlackMessage

__all__ = ["AddResult", "FlushReason"]


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


@dataclass(slots=True)
class AddResult:
    """What happened to one added message.

    ``batch_id`` is the batch it joined (for a duplicate: the batch already holding that id);
    ``flushed`` is the SlackMessage when adding it flushed the batch, with ``flush_reason``
    :attr:`FlushReason.SIZE`, :attr:`~FlushReason.URGENT` or :attr:`~FlushReason.DISABLED`.
    """

    batch_id: str
    duplicate: bool = False
    flushed: SlackMessage | None = None
    flush_reason: FlushReason | None = None
