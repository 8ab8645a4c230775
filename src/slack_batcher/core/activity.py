"""Which channel with pending batches was least recently active (channel overflow).

Each :class:`~slack_batcher.core.grouping.ChannelQueue` carries ``touched``, a stamp that only
grows, set as a message joins (opening a batch in a known channel counts too). The hot path
writes one number; finding the lowest stamp is left to the rare overflow, and even then a
scan of every channel is shared by many overflows: :class:`LeastActive` keeps the few lowest
(stamp, channel) pairs from its last scan. A channel whose stamp changed since has become
more recently active than every channel outside that list, so it is dropped; the first
pair still current is the least active channel.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping

from .grouping import ChannelQueue

__all__ = ["LeastActive"]

#: One scan keeps at least this many candidates, or an eighth of the channels.
_MIN_CANDIDATES = 16


class LeastActive:
    """Finds the least recently active channel without scanning them all on every call."""

    def __init__(self) -> None:
        self._candidates: list[tuple[int, int, str]] = []
        self._next = 0

    def find(self, channels: Mapping[str, ChannelQueue]) -> str | None:
        """Return the channel of *channels* with the lowest ``touched``, or None.

        Ties (channels recovered at start, never touched since) go to the first in
        *channels*' order.
        """
        for _ in range(2):
            candidates = self._candidates
            while self._next < len(candidates):
                touched, _, channel_id = candidates[self._next]
                queue = channels.get(channel_id)
                if queue is not None and queue.touched == touched:
                    return channel_id
                self._next += 1
            if not channels:
                return None
            keep = max(_MIN_CANDIDATES, len(channels) // 8)
            self._candidates = heapq.nsmallest(
                keep, ((q.touched, n, cid) for n, (cid, q) in enumerate(channels.items()))
            )
            self._next = 0
        raise AssertionError("a fresh scan always yields a current candidate")
