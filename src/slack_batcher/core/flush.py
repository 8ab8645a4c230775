"""What adding one message did (:class:`AddResult`), and why a batch flushed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..model.flush import FlushReason

if TYPE_CHECKING:
    from ..formatting.message import SlackMessage

__all__ = ["AddResult", "FlushReason"]


@dataclass(slots=True)
class AddResult:
    """What happened to one added message.

    ``batch_id`` is the batch it joined (for a duplicate: the batch already holding that id);
    ``flushed`` is the SlackMessage when adding it flushed the batch, with ``flush_reason``
    :attr:`FlushReason.SIZE`, :attr:`~FlushReason.URGENT` or :attr:`~FlushReason.DISABLED`.
    In a running :class:`~slack_batcher.runtime.BatchingService`, a batch that goes into a
    live digest is rendered when (and if) its own post is shown: ``flushed`` is then a
    stand-in whose metadata (``render_deferred``, ``batch_id``, ``message_ids``) says so.
    """

    batch_id: str
    duplicate: bool = False
    flushed: SlackMessage | None = None
    flush_reason: FlushReason | None = None
