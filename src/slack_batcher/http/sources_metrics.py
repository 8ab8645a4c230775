"""``slack_batcher_source_*`` metrics, read from the source endpoints' counters at scrape time."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from ..sources.counters import OUTCOMES
from .sources import SourcesState

__all__ = ["SourcesCollector"]


class SourcesCollector(Collector):
    """``slack_batcher_source_*`` metrics: deliveries by outcome, ignored / unrouted kinds."""

    def __init__(self, state: SourcesState) -> None:
        self.state = state

    def describe(self) -> list[Metric]:
        """Return nothing: families are built at scrape time."""
        return []

    def collect(self) -> Iterator[Metric]:
        """Yield the source counters as Prometheus families."""
        counters = self.state.counters
        deliveries = CounterMetricFamily(
            "slack_batcher_source_deliveries",
            "Webhook deliveries per source, by outcome.",
            labels=["source", "outcome"],
        )
        for source, figures in sorted(self.state.summary().items()):
            for outcome in OUTCOMES:
                deliveries.add_metric([source, outcome], figures[outcome])
        yield deliveries
        messages = CounterMetricFamily(
            "slack_batcher_source_messages",
            "Messages handed to the batcher per source (one per routed channel).",
            labels=["source"],
        )
        for source, count in sorted(dict(counters.messages).items()):
            messages.add_metric([source], count)
        yield messages
        for table, doc in (
            ("ignored", "Deliveries acknowledged without a message, per event kind."),
            ("unrouted", "Events no route matched, per event kind."),
            ("dropped", "Events a drop route discarded, per event kind."),
        ):
            family = CounterMetricFamily(
                f"slack_batcher_source_{table}", doc, labels=["source", "event"]
            )
            for (source, kind), count in sorted(dict(getattr(counters, table)).items()):
                family.add_metric([source, kind], count)
            yield family
