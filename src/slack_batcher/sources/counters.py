"""What the source endpoints count: deliveries by outcome, ignored and unrouted event kinds.

Read by ``/metrics`` (``slack_batcher_source_*``), ``/v1/stats``-style summaries and the
dashboard. Event kinds come from signed requests only, and at most :data:`MAX_KINDS`
distinct kinds are kept per source (the rest count as ``other``), so label sets stay small.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

__all__ = ["OUTCOMES", "RecentIds", "SourceCounters"]

#: Every outcome a delivery can have, in the order the dashboard shows them.
OUTCOMES = (
    "accepted",
    "ignored",
    "duplicate",
    "unrouted",
    "dropped",
    "unauthorized",
    "invalid",
)
MAX_KINDS = 100


class SourceCounters:
    """Thread-safe counters per source."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.deliveries: Counter[tuple[str, str]] = Counter()
        self.messages: Counter[str] = Counter()
        self.ignored: Counter[tuple[str, str]] = Counter()
        self.unrouted: Counter[tuple[str, str]] = Counter()
        self.dropped: Counter[tuple[str, str]] = Counter()

    def delivery(self, source: str, outcome: str) -> None:
        """Count one delivery of *source* with *outcome* (one of :data:`OUTCOMES`)."""
        with self._lock:
            self.deliveries[(source, outcome)] += 1

    def message(self, source: str, count: int = 1) -> None:
        """Count messages handed to the batcher (one per channel)."""
        with self._lock:
            self.messages[source] += count

    def kind(self, table: str, source: str, kind: str) -> bool:
        """Count *kind* in ``ignored``, ``unrouted`` or ``dropped``; True the first time."""
        counter: Counter[tuple[str, str]] = getattr(self, table)
        with self._lock:
            key = (source, kind)
            if key not in counter and sum(1 for s, _ in counter if s == source) >= MAX_KINDS:
                key = (source, "other")
            first = key not in counter
            counter[key] += 1
            return first

    def summary(self, sources: list[str]) -> dict[str, dict[str, Any]]:
        """Return per-source figures: each outcome's deliveries, and messages batched."""
        with self._lock:
            known = sorted({s for s, _ in self.deliveries} | set(sources))
            return {
                source: {
                    "enabled": source in sources,
                    "messages": self.messages[source],
                    **{o: self.deliveries[(source, o)] for o in OUTCOMES},
                }
                for source in known
            }


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
