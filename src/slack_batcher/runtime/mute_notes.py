"""Which mutes a live digest mentions: those in force that cover its key or one of its items.

Read from the store's :class:`~slack_batcher.store.base.Mutes` (when it has them) each time
the digest's parent is rendered; nothing is read while no mute is in force.
"""

from __future__ import annotations

import logging
from datetime import datetime

from ..formatting.mute_note import MuteNote
from ..model.digest_key import digest_key
from ..model.mute import message_scopes, scope_matches
from ..store.base import DigestRecord

__all__ = ["mute_notes"]

logger = logging.getLogger(__name__)


def mute_notes(
    store: object, record: DigestRecord, now: datetime, digest_by: list[str] | None
) -> list[MuteNote]:
    """Return (events kept, until, who, scope) for each mute in force over *record*."""
    factory = getattr(store, "mutes", None)
    if not callable(factory):
        return []
    try:
        mutes = factory()
        channel = record.channel_id
        active = [m for m in mutes.active(now) if m.channel in (None, channel)]
        if not active:
            return []
        key = record.key.partition("\x1f")[2]
        scopes: set[str] = {f"digest:{key}"}
        for message in record.messages:
            scopes.update(message_scopes(message, digest_key([message], digest_by)))
        over = [m for m in active if scope_matches(m.scope, scopes)]
        if not over:
            return []
        counts = mutes.counts()
    except Exception:  # the digest still updates without its mute line
        logger.warning("could not read the mutes of digest %s", record.key, exc_info=True)
        return []
    return [(counts.get((m.id, channel), 0), m.until, m.created_by, m.scope) for m in over]
