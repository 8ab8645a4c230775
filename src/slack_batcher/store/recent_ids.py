"""RecentIds: the seen-ids capability of a store that keeps nothing across processes."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime

__all__ = ["RecentIds"]


class RecentIds:
    """The last *size* message ids accepted (per process): redeliveries are recognised.

    A :class:`~slack_batcher.store.base.SeenIds` of one process. It keeps no claims: two
    requests of one process carrying the same id meanwhile meet in the batcher, which
    refuses an id still pending in a channel.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, message_id: object) -> bool:
        with self._lock:
            return message_id in self._ids

    def add(self, message_id: str) -> None:
        """Remember *message_id*, forgetting the oldest past the size."""
        if self.size <= 0:
            return
        with self._lock:
            self._ids[message_id] = None
            self._ids.move_to_end(message_id)
            while len(self._ids) > self.size:
                self._ids.popitem(last=False)

    def claim(self, ids: Sequence[str], now: datetime) -> dict[str, str]:
        """Return ``seen`` for the ids remembered, ``new`` for the others."""
        with self._lock:
            return {i: "seen" if i in self._ids else "new" for i in ids}

    def confirm(self, ids: Sequence[str], now: datetime) -> None:
        """Remember *ids*."""
        for message_id in ids:
            self.add(message_id)

    def release(self, ids: Sequence[str]) -> None:
        """Nothing to give up: claims are not kept."""
