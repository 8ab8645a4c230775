"""Mutes on the ingest path: a routed event a mute covers is kept and counted, never posted.

:class:`MuteGate` sits after routing and validation in both ingest paths
(``POST /v1/messages`` and the webhook sources): :meth:`MuteGate.split` takes the
(message, channel, route) triples about to be submitted and returns those to batch and the
:class:`~slack_batcher.model.mute.MutedEvent` s to keep instead. Kept events are stored
through the store's :class:`~slack_batcher.store.base.Mutes` (durable on SQLite, shared on
Redis; in this process for the memory store) and counted per route and channel for
``slack_batcher_muted_events_total``. When a mute expires or is removed, the flow resumes:
the next event of its scope is batched as usual.
"""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..model.digest_key import digest_key
from ..model.errors import StoreError
from ..model.message import BatchableMessage
from ..model.mute import Mute, MutedEvent, message_scopes
from ..runtime.service import BatchingService
from ..store.base import Mutes

__all__ = ["MuteGate", "MutesCollector", "mute_gate", "new_mute_id"]

logger = logging.getLogger(__name__)


def new_mute_id() -> str:
    """Return a fresh mute id (``m-`` and 10 hex digits)."""
    return f"m-{secrets.token_hex(5)}"


class MuteGate:
    """The mutes of one app: who is muted, what was kept, and the per-process counters."""

    def __init__(self, service: BatchingService) -> None:
        self.service = service
        self.mutes: Mutes = service.batcher.store.mutes()
        #: Events muted by this process per (route, channel), for Prometheus.
        self.muted: Counter[tuple[str, str]] = Counter()

    def now(self) -> datetime:
        """Return the service clock's now."""
        return self.service.clock.now()

    def _digest(self, message: BatchableMessage, channel: str) -> str:
        config = self.service.batcher.config_for(channel)
        return digest_key([message], config.digest_by)

    def split(
        self, planned: Sequence[tuple[BatchableMessage, str, str]]
    ) -> tuple[list[tuple[BatchableMessage, str]], list[MutedEvent]]:
        """Return (pairs to batch, events to keep as muted) for (message, channel, route)s.

        One read of the mutes in force per call, indexed by scope once: an event costs a
        lookup per scope it has, not a comparison per mute. Raises StoreError when the
        mutes cannot be read.
        """
        if not planned:
            return [], []
        now = self.now()
        active = [m for m in self.mutes.active(now) if m.kind == "mute"]
        if not active:
            return [(message, channel) for message, channel, _ in planned], []
        exact: dict[str, list[Mute]] = {}
        patterns: list[Mute] = []  # digest scopes with a *: matched one by one
        for mute in active:
            if mute.scope.startswith("digest:") and "*" in mute.scope:
                patterns.append(mute)
            else:
                exact.setdefault(mute.scope, []).append(mute)
        by_digest = bool(patterns) or any(s.startswith("digest:") for s in exact)
        kept: list[tuple[BatchableMessage, str]] = []
        muted: list[MutedEvent] = []
        for message, channel, route in planned:
            digest = self._digest(message, channel) if by_digest else None
            scopes = message_scopes(message, digest)
            candidates = [m for scope in scopes for m in exact.get(scope, ())] + patterns
            found = next((m for m in candidates if m.covers(message, channel, scopes, now)), None)
            if found is None:
                kept.append((message, channel))
            else:
                muted.append(MutedEvent(found.id, channel, message, now, route))
        return kept, muted

    def keep(self, events: Sequence[MutedEvent]) -> None:
        """Store *events* (all or none; StoreError on failure) and count them."""
        if not events:
            return
        self.mutes.record(events)
        self.muted.update((e.route, e.channel) for e in events)
        logger.info(
            "kept %d muted events (%s)",
            len(events),
            ", ".join(sorted({f"{e.mute_id} in {e.channel}" for e in events})),
        )

    def describe(self, mute: Mute, counts: dict[tuple[str, str], int]) -> dict[str, Any]:
        """Return *mute* as the API shows it: active or not, and the events it kept."""
        by_channel = {c: n for (m, c), n in counts.items() if m == mute.id}
        return {
            **mute.to_dict(),
            "active": mute.active(self.now()),
            "muted_events": sum(by_channel.values()),
            "muted_by_channel": dict(sorted(by_channel.items())),
        }

    def summary(self) -> dict[str, Any]:
        """Figures for ``/v1/stats`` and the dashboard: mutes in force, events kept.

        ``events`` counts every event ever kept as muted (also those of ended mutes), from
        the store: on Redis, those of every instance.
        """
        counts = self.mutes.counts()
        by_channel: Counter[str] = Counter()
        for (_, channel), n in counts.items():
            by_channel[channel] += n
        active = [m for m in self.mutes.active(self.now()) if m.kind == "mute"]
        return {
            "events": sum(counts.values()),
            "by_channel": dict(sorted(by_channel.items())),
            "active_mutes": len(active),
            "active": [self.describe(m, counts) for m in active],
        }

    def safe_summary(self) -> dict[str, Any]:
        """:meth:`summary`, or ``{"error": …}`` when the store cannot be read now."""
        try:
            return self.summary()
        except StoreError as exc:
            logger.warning("could not read the mutes: %s", exc)
            return {"error": f"the mutes cannot be read now: {exc}"}


class MutesCollector(Collector):
    """``slack_batcher_muted_events_total`` by route and channel, and the mutes in force."""

    def __init__(self, gate: MuteGate) -> None:
        self.gate = gate

    def describe(self) -> list[Metric]:
        """Return nothing: families are built at scrape time."""
        return []

    def collect(self) -> Iterator[Metric]:
        """Yield this process's muted-event counts and the number of mutes in force."""
        family = CounterMetricFamily(
            "slack_batcher_muted_events",
            "Accepted events a mute kept out of Slack (kept, not posted), by route and channel.",
            labels=["route", "channel"],
        )
        for (route, channel), count in sorted(self.gate.muted.items()):
            family.add_metric([route, channel], count)
        yield family
        try:
            active = sum(m.kind == "mute" for m in self.gate.mutes.active(self.gate.now()))
        except Exception:  # a scrape never fails for the store
            logger.warning("could not read the mutes for /metrics", exc_info=True)
            return
        gauge = GaugeMetricFamily("slack_batcher_active_mutes", "Mutes in force now.")
        gauge.add_metric([], active)
        yield gauge


def mute_gate(request: Any) -> MuteGate:
    """Return the app's mute gate."""
    gate: MuteGate = request.app.state.slack_batcher_mutes
    return gate
