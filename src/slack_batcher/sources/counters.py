"""What the source endpoints count: deliveries by outcome, ignored and unrouted event kinds.

Read by ``/metrics`` (``slack_batcher_source_*``), ``/v1/stats``-style summaries and the
dashboard. Event kinds come from signed requests only, and at most :data:`MAX_KINDS`
distinct kinds are kept per source (the rest count as ``other``), so label sets stay small.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

__all__ = ["OUTCOMES", "SourceCounters"]

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
