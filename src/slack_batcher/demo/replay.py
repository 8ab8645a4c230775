"""Webhook deliveries through the whole service on a simulated clock (demo and replay).

:func:`run_replay` builds the service from settings exactly as ``serve`` does
(:func:`~slack_batcher.http.server.build_service`: the batcher with its per-route overrides,
the store's kind, the configured sender, pacing) with a :class:`ManualClock`, signs each
delivery with the configured secret (HMAC for GitHub and Jira, the bearer token for
Alertmanager) and posts it to ``/v1/sources/<source>`` in process, so sources, routes,
batching, live digests and delivery all run for real. Between deliveries the clock is
moved to the next one's arrival, stopping at every wake-up; after the last it is moved
until nothing is pending (no message in a batch, nothing in the outbox). Every Slack call
is written in a :class:`~slack_batcher.demo.ledger.CallLedger`.

The store is the configured *kind* in a scratch place, never the configured one: SQLite in
a temporary file, memory as memory, Redis on the configured server under a private key
prefix that is deleted afterwards. A replay therefore never touches a running service's
batches.
"""

from __future__ import annotations

import asyncio
import secrets
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..delivery.base import Sender
from ..http.settings import ServiceSettings
from ..model.clock import ManualClock
from ..model.config import BatchConfig
from ..runtime.service import BatchingService
from ..sources.samples import signed_request
from ..store.base import BatchStore
from .data import DemoDelivery
from .ledger import CallLedger

__all__ = [
    "ReplayRun",
    "Tally",
    "default_start",
    "real_slack_refusal",
    "run_replay",
    "scratch_store",
    "without_digests",
]

#: Rounds of "advance one window" after the last delivery before giving up on pending work.
_DRAIN_ROUNDS = 100


@dataclass(slots=True)
class Tally:
    """What the service answered: messages per channel, arrival times, answers per source."""

    by_channel: Counter[str] = field(default_factory=Counter)
    arrivals: dict[str, datetime] = field(default_factory=dict)
    deliveries: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    #: Every message routed to a channel ({"id", "channel", …}) and when it arrived.
    routed: list[dict[str, Any]] = field(default_factory=list)
    routed_at: list[datetime] = field(default_factory=list)
    #: Deliveries the service refused: "line N (source event): HTTP 4xx detail".
    refused: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ReplayRun:
    """A finished replay: the answers, every Slack call, the batcher's stats, the times."""

    tally: Tally
    ledger: CallLedger
    stats: dict[str, Any]
    start: datetime
    #: When nothing was pending any more (the clock at the end of the drain).
    end: datetime


def _credentials(settings: ServiceSettings) -> dict[str, str]:
    """Return the configured secret of every source (a disabled one signs with nothing)."""
    return {
        source: settings.sources.credential(source) or ""
        for source in ("github", "jira", "alertmanager")
    }


async def _send_all(
    deliveries: list[DemoDelivery],
    service: BatchingService,
    app: Any,
    credentials: dict[str, str],
    start: datetime,
    progress: Callable[[int], None] | None,
    strict: bool,
) -> Tally:
    import httpx

    clock = service.clock
    assert isinstance(clock, ManualClock)
    tally = Tally()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://replay") as client:
        for index, delivery in enumerate(deliveries, start=1):
            arrival = start + timedelta(seconds=delivery.at)
            if arrival > clock.now():
                await service.advance(arrival - clock.now())
            raw, headers = signed_request(
                delivery.source,
                delivery.body,
                credentials[delivery.source],
                event=delivery.event,
                delivery=delivery.delivery or f"replay-{index}",
            )
            response = await client.post(
                f"/v1/sources/{delivery.source}", content=raw, headers=headers
            )
            tally.deliveries[delivery.source] += 1
            if response.status_code >= 300:
                what = f"delivery {index} ({delivery.source} {delivery.event})".replace(" )", ")")
                refusal = f"{what} was refused: HTTP {response.status_code}: {_detail(response)}"
                if strict:
                    raise ValueError(refusal)
                tally.outcomes[f"refused (HTTP {response.status_code})"] += 1
                tally.refused.append(refusal)
                continue
            answer = response.json()
            tally.outcomes[answer["status"]] += 1
            for routed in answer.get("messages", []):
                if not routed["duplicate"]:
                    tally.by_channel[routed["channel"]] += 1
                    tally.arrivals.setdefault(routed["id"], clock.now())
                    tally.routed.append(routed)
                    tally.routed_at.append(clock.now())
            if progress is not None:
                progress(index)
    return tally


def _detail(response: Any) -> str:
    """Return the problem's ``detail`` (RFC 9457), else the start of the body."""
    try:
        return str(response.json()["detail"])
    except (ValueError, KeyError, TypeError):
        return str(response.text[:300])


def _pending(service: BatchingService) -> int:
    stats = service.batcher.get_batch_stats()
    return int(stats["messages_pending"]) + int(stats["outbox_pending"])


async def _drain(service: BatchingService, channels: list[str]) -> None:
    """Advance by the longest window until nothing is pending (twice in a row)."""
    batcher = service.batcher
    windows = [
        batcher.config.max_batch_age,
        *(batcher.config_for(c).max_batch_age for c in channels),
    ]
    step = max(windows) + timedelta(minutes=1)
    quiet = 0
    for _ in range(_DRAIN_ROUNDS):
        await service.advance(step)
        quiet = quiet + 1 if _pending(service) == 0 else 0
        if quiet == 2:
            return


@contextmanager
def scratch_store(settings: ServiceSettings) -> Iterator[BatchStore]:
    """Open a store of the configured kind in a scratch place; remove it afterwards.

    SQLite: a file in a temporary directory; memory: memory; Redis: the configured server
    under the prefix ``<prefix>:replay:<random>``, whose keys are deleted on the way out.
    The store is closed on the way out (closing it twice is harmless).
    """
    from ..http.server import build_store

    url = settings.store.url
    if settings.store.is_redis:
        prefix = f"{settings.store.prefix}:replay:{secrets.token_hex(4)}"
        store = build_store(url, prefix=prefix)
        try:
            yield store
        finally:
            _delete_prefix(store, prefix)
            store.close()
        return
    with tempfile.TemporaryDirectory(prefix="slack-batcher-replay-") as tmp:
        scratch = f"sqlite:///{Path(tmp) / 'replay.db'}" if url.startswith("sqlite") else url
        store = build_store(scratch)
        try:
            yield store
        finally:
            store.close()


def _delete_prefix(store: BatchStore, prefix: str) -> None:
    shared = store.shared_store()  # Redis: the store itself
    if shared is None:
        return
    client = shared.client
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    for chunk in range(0, len(keys), 500):
        client.delete(*keys[chunk : chunk + 500])


def _adjusted(
    settings: ServiceSettings, tweak: Callable[[BatchConfig], BatchConfig] | None
) -> ServiceSettings:
    if tweak is None:
        return settings
    return settings.model_copy(update={"batching": tweak(settings.batch_config)})


def run_replay(
    deliveries: list[DemoDelivery],
    settings: ServiceSettings,
    *,
    start: datetime,
    sender: Callable[[ManualClock], Sender],
    tweak: Callable[[BatchConfig], BatchConfig] | None = None,
    progress: Callable[[int], None] | None = None,
    strict: bool = False,
) -> ReplayRun:
    """Replay *deliveries* through the service *settings* describe, posting to *sender*.

    *start* is the simulated time of ``at = 0``; ``sender(clock)`` builds the sender on the
    replay's clock (dry-run senders date their lines by it). *tweak* changes every batching config
    (the batcher's and each route's override) before the run: the demo uses it to count
    posts without live digests. With *strict*, a refused delivery raises ValueError;
    otherwise it is counted under ``refused (HTTP …)`` and listed in ``Tally.refused``.
    """
    from ..http.app import create_app
    from ..http.server import build_service

    settings = _adjusted(settings, tweak)
    clock = ManualClock(start)
    ledger = CallLedger(sender(clock), clock)
    with scratch_store(settings) as store:
        service = build_service(settings, clock=clock, store=store, sender=ledger)
        if tweak is not None:
            for channel, config in settings.routes.channel_configs(settings.batch_config).items():
                service.batcher.configure_channel(channel, tweak(config))
        app = create_app(service, sources=settings.sources, routes=settings.routes)
        credentials = _credentials(settings)

        async def run() -> Tally:
            async with service:
                tally = await _send_all(
                    deliveries, service, app, credentials, start, progress, strict
                )
                await _drain(service, list(tally.by_channel))
                return tally

        tally = asyncio.run(run())
        stats = service.batcher.get_batch_stats()
    return ReplayRun(tally, ledger, stats, start, clock.now())


def without_digests(config: BatchConfig) -> BatchConfig:
    """Turn live digests off (a *tweak* for :func:`run_replay`: every flush its own post)."""
    return replace(config, live_digests=False)


def default_start(deliveries: list[DemoDelivery], now: datetime) -> datetime:
    """Return the simulated time of ``at = 0`` when none is given.

    A recorded file (``serve --record``) says when its first delivery arrived (``time``):
    the replay starts when the recording did. Otherwise: *now*, to the hour.
    """
    for delivery in deliveries[:1]:
        if delivery.time:
            try:
                arrived = datetime.fromisoformat(delivery.time)
            except ValueError:
                break
            if arrived.tzinfo is not None:
                return arrived.astimezone(UTC) - timedelta(seconds=delivery.at)
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def real_slack_refusal(settings: ServiceSettings) -> str | None:
    """Say why replaying with these settings could post into a real workspace (None: it cannot).

    A dry-run sender (``jsonl``, ``console``) is safe; so is a Slack API or webhook URL on
    this machine (a FakeSlack: 127.0.0.0/8, ::1, localhost). Anything else reaches a real
    workspace: ``slack-batcher replay`` refuses it unless given ``--allow-real-slack``.
    """
    from ..http.server import is_loopback

    sender = settings.sender
    kind = sender.resolved_kind()
    if kind == "slack":
        url, key = sender.slack_api_url, "sender.slack_api_url"
    elif kind == "webhook" and sender.webhook_url is not None:
        url, key = sender.webhook_url.get_secret_value(), "sender.webhook_url"
    else:
        return None
    host = urlsplit(url).hostname or ""
    if is_loopback(host):
        return None
    shown = host if kind == "webhook" else url  # a webhook URL is a secret: name its host only
    return (
        f"the configured sender ({kind}, {key} {shown}) posts into a real Slack workspace; "
        "a replay posts every event again: use a dry run (SLACK_BATCHER_SENDER__KIND=jsonl), "
        "a FakeSlack on this machine, or pass --allow-real-slack"
    )
