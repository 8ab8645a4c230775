"""Latency options beyond the seed's windows: the leading edge of a quiet digest key.

With ``flush_leading`` the first message of a channel-and-digest-key that has been quiet
for a whole window (``max_batch_age``) flushes at once, alone; what follows within the
window batches as usual (and, with live digests, joins that first post's thread). The
sliding window itself lives in the batcher, which owns the deadline heap.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ..model.digest_key import digest_key
from ..model.message import BatchableMessage

__all__ = ["LeadingEdges"]

#: Keys remembered before the ones quiet for a window are swept out.
_SWEEP_AT = 10_000


class LeadingEdges:
    """When each channel-and-digest-key last saw a message (only with ``flush_leading``)."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, str], datetime] = {}

    def quiet(
        self,
        channel_id: str,
        message: BatchableMessage,
        digest_by: list[str] | None,
        window: timedelta,
        now: datetime,
    ) -> bool:
        """Note *message*; return True when its key had no message for a whole *window*."""
        key = (channel_id, digest_key([message], digest_by))
        last = self._last.get(key)
        self._last[key] = now
        if len(self._last) > _SWEEP_AT:
            self._sweep(now, window)
        return last is None or now - last >= window

    def _sweep(self, now: datetime, window: timedelta) -> None:
        self._last = {k: t for k, t in self._last.items() if now - t < window}
