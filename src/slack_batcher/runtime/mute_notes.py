"""Which mutes and acknowledgements a post mentions: those over its key or its items.

Read from the store's :class:`~slack_batcher.store.base.Mutes` (when it has them) each time
a digest post is rendered; nothing more is read while no mute or acknowledgement is in
force. An acknowledgement stops showing once an alert it covers fires again after it
resolved (a new incident needs a new look).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from ..formatting.mute_note import Note
from ..model.digest_key import digest_key
from ..model.message import BatchableMessage
from ..model.mute import Mute, message_scopes, scope_matches
from ..store.base import KeepsMutes

__all__ = ["post_notes", "refired"]

logger = logging.getLogger(__name__)


def refired(ack: Mute, messages: Sequence[BatchableMessage], digest_by: list[str] | None) -> bool:
    """Return True when an alert *ack* covers resolved and then fired again after *ack*."""
    resolved = False
    for message in messages:
        scopes = message_scopes(message, digest_key([message], digest_by))
        if not scope_matches(ack.scope, scopes):
            continue
        status = str(message.data.get("status") or "").lower()
        if status == "resolved":
            resolved = True
        elif status == "firing" and resolved and message.timestamp >= ack.created_at:
            return True
    return False


def post_notes(
    store: KeepsMutes,
    channel: str,
    key: str,
    messages: Sequence[BatchableMessage],
    now: datetime,
    digest_by: list[str] | None,
) -> list[Note]:
    """Return a :class:`Note` for each mute and acknowledgement in force over the post."""
    try:
        mutes = store.mutes()
        active = [m for m in mutes.active(now) if m.channel in (None, channel)]
        if not active:
            return []
        scopes: set[str] = {f"digest:{key}"}
        for message in messages:
            scopes.update(message_scopes(message, digest_key([message], digest_by)))
        over = [m for m in active if scope_matches(m.scope, scopes)]
        over = [m for m in over if m.kind != "ack" or not refired(m, messages, digest_by)]
        counts = mutes.counts() if any(m.kind == "mute" for m in over) else {}
    except Exception:  # the post still goes out without its notes
        logger.warning("could not read the mutes of %s in %s", key, channel, exc_info=True)
        return []
    return [
        Note(m.kind, counts.get((m.id, channel), 0), m.until, m.created_by, m.scope) for m in over
    ]
