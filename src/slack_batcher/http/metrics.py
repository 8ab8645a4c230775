"""Prometheus metrics read from the batcher's own stats and health (never kept beside them).

A custom collector turns ``get_batch_stats()`` and ``get_health_status()`` into metric
families on every scrape, so ``/metrics`` and ``/v1/stats`` can never disagree.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from ..core.batcher import MessageBatcher

__all__ = ["BatcherCollector", "metrics_registry"]

PREFIX = "slack_batcher"
_STATUS_VALUES = ("healthy", "degraded", "unhealthy")

#: get_batch_stats() key → (metric name without prefix and ``_total``, help text).
_COUNTERS: dict[str, tuple[str, str]] = {
    "messages_received": ("messages_received", "Messages submitted, duplicates included."),
    "messages_batched": ("messages_batched", "Messages accepted into a batch."),
    "messages_sent": ("messages_flushed", "Messages in flushed batches."),
    "duplicates": ("messages_duplicate", "Messages ignored as already pending (same id)."),
    "rejected": ("messages_rejected", "Messages refused as too large."),
    "batches_created": ("batches_created", "Batches opened."),
    "dead_letters_created": ("dead_letters_created", "Dead letters created."),
    "messages_dead_lettered": ("messages_dead_lettered", "Messages moved to dead letters."),
    "replayed": ("messages_replayed", "Dead-lettered messages re-queued by a replay."),
    "errors": ("errors", "Failed operations (formatter or store errors)."),
    "api_posts_saved": ("slack_posts_saved", "Slack posts avoided by batching."),
}
_GAUGES: dict[str, tuple[str, str]] = {
    "batches_pending": ("pending_batches", "Batches waiting for their window to close."),
    "messages_pending": ("pending_messages", "Messages waiting in pending batches."),
    "outbox_pending": ("outbox_entries", "Flushed posts waiting for delivery."),
    "active_channels": ("active_channels", "Channels with pending batches."),
    "memory_estimate_bytes": ("pending_memory_bytes", "Estimated memory of pending messages."),
    "uptime_seconds": ("uptime_seconds", "Seconds since the batcher started."),
}
_DELIVERY_COUNTERS: dict[str, tuple[str, str]] = {
    "posts": ("slack_posts", "Pages posted to Slack (or the configured sink)."),
    "delivered": ("deliveries", "Flushed batches fully delivered and acknowledged."),
    "messages_delivered": ("messages_delivered", "Messages in delivered batches."),
    "retries": ("delivery_retries", "Post attempts retried after a transient error."),
    "rate_limited": ("slack_rate_limited", "Posts Slack answered with HTTP 429."),
    "dead_letters": ("delivery_dead_letters", "Posts given up and dead-lettered."),
    "auth_failures": ("delivery_auth_failures", "Posts refused for bad credentials."),
    "possible_duplicates": (
        "delivery_possible_duplicates",
        "Posts sent again after an attempt whose outcome is unknown (a crash mid-post, a "
        "timeout): each may appear twice in Slack.",
    ),
    "recovered": ("delivery_recovered", "Outbox entries left by an earlier run and picked up."),
}


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    return None


class BatcherCollector(Collector):
    """Collects slack-batcher's metrics from a :class:`MessageBatcher` at scrape time."""

    def __init__(self, batcher: MessageBatcher) -> None:
        self.batcher = batcher

    def describe(self) -> list[Metric]:
        """Return nothing: the families depend on the stats, so collect() is not run early."""
        return []

    def collect(self) -> Iterator[Metric]:
        """Yield every metric family from the current stats and health."""
        stats = self.batcher.get_batch_stats()
        health = self.batcher.get_health_status()
        yield from _counters(stats, _COUNTERS)
        yield from _gauges(stats, _GAUGES)
        flushed = CounterMetricFamily(
            f"{PREFIX}_batches_flushed", "Batches flushed, by reason.", labels=["reason"]
        )
        for reason, count in sorted((stats.get("flush_reasons") or {}).items()):
            flushed.add_metric([reason], count)
        yield flushed
        yield from _channel_gauges(stats.get("by_channel") or {})
        delivery = stats.get("delivery")
        if isinstance(delivery, Mapping):
            yield from _delivery(delivery)
        write_error = self.batcher.store.write_error
        yield GaugeMetricFamily(
            f"{PREFIX}_store_write_failing",
            "1 while the store's last write failed (a full disk, …): /readyz is 503 then.",
            value=1.0 if write_error else 0.0,
        )
        yield from _health(health)


def _counters(stats: Mapping[str, Any], table: Mapping[str, tuple[str, str]]) -> Iterator[Metric]:
    for key, (name, doc) in table.items():
        value = _number(stats.get(key))
        if value is not None:
            yield CounterMetricFamily(f"{PREFIX}_{name}", doc, value=value)


def _gauges(stats: Mapping[str, Any], table: Mapping[str, tuple[str, str]]) -> Iterator[Metric]:
    for key, (name, doc) in table.items():
        value = _number(stats.get(key))
        if value is not None:
            yield GaugeMetricFamily(f"{PREFIX}_{name}", doc, value=value)


def _channel_gauges(by_channel: Mapping[str, Mapping[str, Any]]) -> Iterator[Metric]:
    pending = GaugeMetricFamily(
        f"{PREFIX}_channel_pending_messages",
        "Messages pending per channel.",
        labels=["channel"],
    )
    batched = CounterMetricFamily(
        f"{PREFIX}_channel_messages_batched",
        "Messages accepted per channel (channels with recent activity).",
        labels=["channel"],
    )
    for channel, figures in sorted(by_channel.items()):
        pending.add_metric([channel], figures.get("pending_messages", 0))
        batched.add_metric([channel], figures.get("messages_batched", 0))
    yield pending
    yield batched


_DIGEST_COUNTERS: dict[str, tuple[str, str]] = {
    "started": ("digests_started", "Live digests started (a new top-level post)."),
    "updates": ("digest_updates", "Edits of a live digest's post to its running summary."),
    "restarted": (
        "digests_restarted",
        "Live digests given up after Slack refused an edit (message deleted, not editable).",
    ),
}


def _delivery(delivery: Mapping[str, Any]) -> Iterator[Metric]:
    yield from _counters(delivery, _DELIVERY_COUNTERS)
    digests = delivery.get("digests")
    if isinstance(digests, Mapping):
        yield from _counters(digests, _DIGEST_COUNTERS)
    in_flight = _number(delivery.get("in_flight"))
    if in_flight is not None:
        yield GaugeMetricFamily(
            f"{PREFIX}_delivery_in_flight", "Outbox entries being delivered.", value=in_flight
        )
    yield GaugeMetricFamily(
        f"{PREFIX}_delivery_paused",
        "1 while delivery is paused by an auth error.",
        value=1.0 if delivery.get("paused") else 0.0,
    )
    histogram = delivery.get("latency_histogram")
    if isinstance(histogram, Mapping) and isinstance(histogram.get("buckets"), list):
        yield HistogramMetricFamily(
            f"{PREFIX}_due_to_post_seconds",
            "Seconds from a batch's due time to its post being acknowledged.",
            buckets=[(_bucket_label(bound), float(count)) for bound, count in histogram["buckets"]],
            sum_value=float(histogram.get("sum") or 0.0),
        )
    latency = delivery.get("latency_seconds")
    if isinstance(latency, Mapping):
        family = GaugeMetricFamily(
            f"{PREFIX}_due_to_post_recent_seconds",
            "Due-to-post latency over the most recent deliveries, by quantile "
            "(quantile 1 is the maximum).",
            labels=["quantile"],
        )
        for key, quantile in (("p50", "0.5"), ("p99", "0.99"), ("max", "1")):
            value = _number(latency.get(key))
            if value is not None:
                family.add_metric([quantile], value)
        yield family


def _bucket_label(bound: object) -> str:
    return bound if isinstance(bound, str) else repr(float(bound))  # type: ignore[arg-type]


def _health(health: Mapping[str, Any]) -> Iterator[Metric]:
    overall = GaugeMetricFamily(
        f"{PREFIX}_health_status",
        "1 for the overall health status the batcher reports.",
        labels=["status"],
    )
    for status in _STATUS_VALUES:
        overall.add_metric([status], 1.0 if health.get("status") == status else 0.0)
    yield overall
    checks = GaugeMetricFamily(
        f"{PREFIX}_health_check_status",
        "1 for the status of each named health check.",
        labels=["check", "status"],
    )
    for name, check in sorted((health.get("checks") or {}).items()):
        for status in _STATUS_VALUES:
            checks.add_metric([name, status], 1.0 if check.get("status") == status else 0.0)
    yield checks


def metrics_registry(batcher: MessageBatcher) -> CollectorRegistry:
    """Return a registry with the batcher's metrics and the process / platform / GC ones."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BatcherCollector(batcher))
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry
