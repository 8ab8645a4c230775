"""What instances sharing a Redis read about the shared state.

Pending figures, due times, and the ``shared`` stats
with the ``store_reachable`` health check.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ...model.stats import HEALTHY, UNHEALTHY, HealthCheck
from ..codec import micros_time
from .store import RedisStore

__all__ = ["SharedFigures", "earliest_due", "pending_counts"]


def earliest_due(store: RedisStore) -> datetime | None:
    """Return the earliest due time (or claim end) of every pending batch, or None."""
    head = store.call(store.client.zrange, store.key("due"), 0, 0, withscores=True)
    return micros_time(head[0][1]) if head else None


def pending_counts(store: RedisStore) -> dict[str, int]:
    """Return ``batches_pending``, ``messages_pending`` and ``active_channels`` (one trip)."""
    pipe = store.client.pipeline(transaction=False)
    pipe.zcard(store.key("batches"))
    pipe.get(store.key("pending"))
    pipe.hlen(store.key("chans"))
    batches, messages, channels = store.call(pipe.execute)
    return {
        "batches_pending": int(batches),
        "messages_pending": int(messages or 0),
        "active_channels": int(channels),
    }


class SharedFigures:
    """The ``shared`` section of the stats and the ``store_reachable`` health check."""

    name = "shared"

    def __init__(self, store: RedisStore, figures: Callable[[], dict[str, Any]]) -> None:
        self._store = store
        self._figures = figures

    def stats(self) -> dict[str, Any]:
        """Return the instance's shared-work figures."""
        return self._figures()

    def health_checks(self, now: datetime) -> list[HealthCheck]:
        """Return ``store_reachable``: unhealthy while Redis does not answer."""
        problem = self._store.check_writable()
        return [
            HealthCheck(
                "store_reachable",
                UNHEALTHY if problem else HEALTHY,
                0 if problem else 1,
                1,
                problem or f"Redis answers ({self._store.url})",
            )
        ]
