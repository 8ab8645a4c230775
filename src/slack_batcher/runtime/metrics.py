"""DeliveryMetrics: the runtime's figures and health checks, read through the batcher.

Attached with :meth:`MessageBatcher.add_stats_contributor`, so they appear under
``"delivery"`` in ``get_batch_stats()`` and as ``delivery_*`` checks in
``get_health_status()``. Written from the event loop, read from any thread: one lock.
"""

from __future__ import annotations

import bisect
import itertools
import threading
from collections import Counter, deque
from datetime import datetime
from typing import Any

from ..model.stats import DEGRADED, HEALTHY, UNHEALTHY, HealthCheck
from ..model.stats import level as threshold_level

__all__ = ["DeliveryMetrics"]

#: Deliveries kept for the latency percentiles.
LATENCY_WINDOW = 10_000
#: Recent post attempts kept for the error rate.
ATTEMPT_WINDOW = 200
#: Upper bounds (seconds) of the deadline-to-ack latency histogram's buckets.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
#: Channels listed by name in ``posts_by_channel``; the rest are summed as "other".
MAX_LISTED_CHANNELS = 1000


def _percentile(ordered: list[float], share: float) -> float | None:
    if not ordered:
        return None
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


class DeliveryMetrics:
    """Counters, latency samples and health checks of one :class:`BatchingService`."""

    name = "delivery"

    def __init__(self, *, stuck_after: float, error_rate_threshold: float) -> None:
        self._lock = threading.Lock()
        self._stuck_after = stuck_after
        self._error_rate_threshold = error_rate_threshold
        self.posts = 0
        self.delivered = 0
        self.messages_delivered = 0
        self.retries = 0
        self.rate_limited = 0
        self.dead_letters = 0
        self.auth_failures = 0
        self.possible_duplicates = 0
        self.recovered = 0
        #: Live digests: new digest posts, parent edits, and digests restarted after a
        #: refused edit (see runtime/digests.py).
        self.digests_started = 0
        self.digest_updates = 0
        self.digests_restarted = 0
        self._posts_by_channel: Counter[str] = Counter()
        self._errors: Counter[str] = Counter()
        self._warnings: Counter[str] = Counter()
        self._latencies: deque[float] = deque(maxlen=LATENCY_WINDOW)
        # Cumulative since start, for a Prometheus histogram (the deque is a recent window).
        self._bucket_counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self._latency_sum = 0.0
        self._attempts: deque[bool] = deque(maxlen=ATTEMPT_WINDOW)
        self._outstanding: dict[str, datetime] = {}
        self.paused_since: datetime | None = None
        self.pause_reason: str | None = None
        self.last_shutdown: dict[str, Any] | None = None

    # --------------------------------------------------------------- recording

    def track(self, entry_id: str, due_at: datetime) -> None:
        """Note an outbox entry the runtime now owns."""
        with self._lock:
            self._outstanding[entry_id] = due_at

    def untrack(self, entry_id: str) -> None:
        """Forget an entry that left the outbox (delivered or dead-lettered)."""
        with self._lock:
            self._outstanding.pop(entry_id, None)

    def post_succeeded(self, channel: str, warnings: list[str]) -> None:
        """Count one page posted, and Slack's warnings about it."""
        with self._lock:
            self.posts += 1
            self._attempts.append(True)
            if channel in self._posts_by_channel or len(self._posts_by_channel) < (
                MAX_LISTED_CHANNELS
            ):
                self._posts_by_channel[channel] += 1
            else:
                self._posts_by_channel["other"] += 1
            self._warnings.update(warnings)

    def post_failed(self, code: str, *, rate_limited: bool, retried: bool, auth: bool) -> None:
        """Count one failed post attempt."""
        with self._lock:
            self._attempts.append(False)
            self._errors[code] += 1
            self.rate_limited += rate_limited
            self.retries += retried
            self.auth_failures += auth

    def delivered_entry(self, message_count: int, latency: float) -> None:
        """Count an entry acknowledged, *latency* seconds after its due time."""
        with self._lock:
            self.delivered += 1
            self.messages_delivered += message_count
            latency = max(latency, 0.0)
            self._latencies.append(latency)
            self._latency_sum += latency
            self._bucket_counts[bisect.bisect_left(LATENCY_BUCKETS, latency)] += 1

    def dead_lettered(self) -> None:
        """Count an entry moved to the dead letters."""
        with self._lock:
            self.dead_letters += 1

    def count(self, field: str, amount: int = 1) -> None:
        """Add *amount* to the integer counter *field* (``possible_duplicates``, …)."""
        with self._lock:
            setattr(self, field, getattr(self, field) + amount)

    def set_paused(self, since: datetime | None, reason: str | None) -> None:
        """Record that delivery paused (with *since*) or resumed (None)."""
        with self._lock:
            self.paused_since = since
            self.pause_reason = reason

    # ----------------------------------------------------------------- reading

    def latency_percentiles(self) -> dict[str, float | None]:
        """Return p50, p99 and max of deadline-to-ack latency, in seconds."""
        with self._lock:
            ordered = sorted(self._latencies)
        top = ordered[-1] if ordered else None
        return {
            "p50": _percentile(ordered, 0.50),
            "p99": _percentile(ordered, 0.99),
            "max": top,
        }

    def stats(self) -> dict[str, Any]:
        """Return the delivery figures (JSON-ready)."""
        latency = self.latency_percentiles()
        with self._lock:
            attempts = len(self._attempts)
            failed = attempts - sum(self._attempts)
            return {
                "posts": self.posts,
                "delivered": self.delivered,
                "messages_delivered": self.messages_delivered,
                "in_flight": len(self._outstanding),
                "retries": self.retries,
                "rate_limited": self.rate_limited,
                "dead_letters": self.dead_letters,
                "auth_failures": self.auth_failures,
                "possible_duplicates": self.possible_duplicates,
                "recovered": self.recovered,
                "digests": {
                    "started": self.digests_started,
                    "updates": self.digest_updates,
                    "restarted": self.digests_restarted,
                },
                "paused": self.paused_since is not None,
                "paused_since": self.paused_since.isoformat() if self.paused_since else None,
                "pause_reason": self.pause_reason,
                "error_rate": round(failed / attempts, 4) if attempts else 0.0,
                "errors_by_code": dict(self._errors),
                "warnings": dict(self._warnings),
                "posts_by_channel": dict(self._posts_by_channel),
                "latency_seconds": {
                    k: (round(v, 4) if v is not None else None) for k, v in latency.items()
                },
                "latency_histogram": {
                    "buckets": [
                        [bound, count]
                        for bound, count in zip(
                            (*LATENCY_BUCKETS, "+Inf"),
                            itertools.accumulate(self._bucket_counts),
                            strict=True,
                        )
                    ],
                    "sum": round(self._latency_sum, 6),
                    "count": self.delivered,
                },
                "last_shutdown": self.last_shutdown,
            }

    def health_checks(self, now: datetime) -> list[HealthCheck]:
        """Return the auth, stuck-outbox and delivery error-rate checks."""
        with self._lock:
            paused = self.paused_since
            oldest = min(self._outstanding.values(), default=None)
            attempts = len(self._attempts)
            failed = attempts - sum(self._attempts)
        checks = [
            HealthCheck(
                "delivery_auth",
                UNHEALTHY if paused else HEALTHY,
                1 if paused else 0,
                1,
                f"delivery paused since {paused.isoformat()}: {self.pause_reason}"
                if paused
                else "Slack accepts the credentials",
            )
        ]
        overdue = max((now - oldest).total_seconds(), 0.0) if oldest else 0.0
        checks.append(
            HealthCheck(
                "delivery_stuck_outbox",
                threshold_level(overdue, self._stuck_after),
                round(overdue, 3),
                self._stuck_after,
                f"oldest undelivered post is {overdue:.0f} s past due"
                if oldest
                else "nothing waits for delivery",
            )
        )
        rate = failed / attempts if attempts else 0.0
        threshold = self._error_rate_threshold
        status = HEALTHY
        if attempts and rate > threshold:
            status = UNHEALTHY if rate >= min(1.0, 3 * threshold) else DEGRADED
        checks.append(
            HealthCheck(
                "delivery_error_rate",
                status,
                round(rate, 4),
                threshold,
                f"{failed} of the last {attempts} post attempts failed",
            )
        )
        return checks
