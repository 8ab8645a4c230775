"""Run an Alertmanager storm through the whole service and say what the channel reads.

:func:`run_storm` builds the service from a configuration file (default: the starter
config, ``slack-batcher config init``'s), posts each :class:`~.alert_storm.Notification` to
``/v1/sources/alertmanager`` at its time on a ManualClock, delivers through slack_sdk to a
:class:`~slack_batcher.testing.FakeSlack`, advances until nothing is pending, and returns
:class:`StormFigures`: top-level posts, replies, edits and Slack calls in the channel
against the notifications sent; the count the top-level posts state against the distinct
alerts; the instances named in the posts and their threads; how soon the first critical
alert was visible. Used by the tests and ``python -m benchmarks storm``.
"""

from __future__ import annotations

import json
import re
import secrets
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import httpx

from ..delivery.slack import SlackSender
from ..http.app import create_app
from ..http.server import build_service
from ..http.settings import load_settings
from ..model.clock import ManualClock
from ..sources.samples import signed_request
from ..store.sqlite.store import SQLiteStore
from ._records import Post
from ._server import FakeSlack
from .alert_storm import STORM_START, Notification, StormAlert

__all__ = [
    "ChannelRun",
    "Delivery",
    "StormFigures",
    "StormRun",
    "run_deliveries",
    "run_storm",
    "starter_config",
]

_STATED = re.compile(r"^(\d+) ")


def starter_config() -> Path:
    """Return the path of the bundled starter configuration."""
    with resources.as_file(resources.files("slack_batcher") / "data/slack-batcher.toml") as path:
        return Path(path)


@dataclass(frozen=True, slots=True)
class StormFigures:
    """What a channel shows after a storm (see the module docstring)."""

    notifications: int
    alerts: int
    top_level_posts: int
    replies: int
    edits: int
    slack_calls: int
    stated: tuple[int, ...]
    instances: int
    named: int
    critical_visible_after: float | None

    def to_dict(self) -> dict[str, Any]:
        """Return the figures as a JSON-ready dict."""
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class Delivery:
    """One webhook call: when (seconds from start), from which source, its body and event."""

    at: float
    source: str
    body: dict[str, Any]
    event: str = ""


@dataclass(frozen=True, slots=True)
class ChannelRun:
    """What a channel shows after :func:`run_deliveries`.

    Its posts (final versions, replies too), its top-level posts, and the Slack calls
    (posts and edits) made in it.
    """

    posts: list[Post]
    parents: list[Post]
    calls: int

    def thread(self, parent: Post) -> list[Post]:
        """Return the replies to *parent*, oldest first."""
        return [p for p in self.posts if p.thread_ts == parent.ts]


@dataclass(frozen=True, slots=True)
class StormRun:
    """A finished storm: its figures and the channel's posts (final versions, replies too)."""

    figures: StormFigures
    posts: list[Post]
    parents: list[Post]

    def thread(self, parent: Post) -> list[Post]:
        """Return the replies to *parent*, oldest first."""
        return [p for p in self.posts if p.thread_ts == parent.ts]


def _shown(post: Post) -> str:
    return post.text + "\n" + json.dumps(post.blocks)


def _named(texts: Sequence[str], instance: str) -> bool:
    pattern = re.compile(rf"(?<![\w-]){re.escape(instance)}(?![\w-])")
    return any(pattern.search(text) for text in texts)


def _first_seen(posts: Sequence[Post], word: str) -> datetime | None:
    moments = [version.at for post in posts for version in post.versions if word in version.text]
    return min(moments, default=None)


async def _post_all(
    deliveries: Sequence[Delivery],
    config: Path,
    credentials: dict[str, str],
    slack: FakeSlack,
    clock: ManualClock,
) -> None:
    sources = {
        name: {"token" if name == "alertmanager" else "secret": value}
        for name, value in credentials.items()
    }
    settings = load_settings(config, sources=sources)
    with tempfile.TemporaryDirectory(prefix="slack-batcher-storm-") as tmp:
        store = SQLiteStore(Path(tmp) / "storm.db")
        sender = SlackSender(slack.token or "xoxb-storm", base_url=slack.base_url)
        service = build_service(settings, clock=clock, store=store, sender=sender)
        try:
            app = create_app(
                service, settings=settings.server, sources=settings.sources, routes=settings.routes
            )
            transport = httpx.ASGITransport(app=app)
            async with (
                service,
                httpx.AsyncClient(transport=transport, base_url="http://storm") as client,
            ):
                start = clock.now()
                for delivery in deliveries:
                    arrival = start + timedelta(seconds=delivery.at)
                    if arrival > clock.now():
                        await service.advance(arrival - clock.now())
                    raw, headers = signed_request(
                        delivery.source,
                        delivery.body,
                        credentials[delivery.source],
                        event=delivery.event,
                    )
                    response = await client.post(
                        f"/v1/sources/{delivery.source}", content=raw, headers=headers
                    )
                    if response.status_code != 202:
                        raise AssertionError(f"HTTP {response.status_code}: {response.text}")
                for _ in range(12):  # until nothing is pending (windows, pacing, retries)
                    await service.advance(timedelta(minutes=5))
                    if not service.batcher.inspect_pending_batches()["total_batches"] and not len(
                        service.batcher.outbox
                    ):
                        break
        finally:
            service.batcher.close()


async def run_deliveries(
    deliveries: Sequence[Delivery],
    *,
    config: Path | None = None,
    channel: str,
    start: datetime = STORM_START,
) -> ChannelRun:
    """Post *deliveries* (signed) through the service built from *config*; say what *channel* shows.

    *config* defaults to the starter config; the clock is a ManualClock from *start*.
    """
    clock = ManualClock(start)
    credentials = {name: secrets.token_hex(16) for name in ("alertmanager", "github", "jira")}
    with FakeSlack(clock=clock, posts_per_second=None) as slack:
        await _post_all(deliveries, config or starter_config(), credentials, slack, clock)
        posts = slack.posts_in(channel)
        calls = sum(
            1
            for r in slack.requests
            if r.channel == channel
            and r.error is None
            and r.method in ("chat.postMessage", "chat.update")
        )
    return ChannelRun(posts, [p for p in posts if not p.is_reply], calls)


async def run_storm(
    notifications: Sequence[Notification],
    *,
    config: Path | None = None,
    channel: str = "#alerts",
    start: datetime = STORM_START,
) -> StormRun:
    """Post *notifications* through the service built from *config*; return what *channel* shows."""
    deliveries = [Delivery(n.at, "alertmanager", n.body) for n in notifications]
    run = await run_deliveries(deliveries, config=config, channel=channel, start=start)
    posts, calls = run.posts, run.calls
    alerts: dict[str, StormAlert] = {}
    for notification in notifications:
        for alert in notification.alerts:
            alerts[alert.fingerprint] = alert
    parents = [p for p in posts if not p.is_reply]
    texts = [_shown(p) for p in posts]
    instances = {a.instance for a in alerts.values()}
    stated = tuple(
        int(found.group(1)) for p in parents if (found := _STATED.match(p.text)) is not None
    )
    critical = [n for n in notifications if any(a.severity == "critical" for a in n.alerts)]
    seen = _first_seen(posts, critical[0].alerts[0].alertname) if critical else None
    after = (seen - (start + timedelta(seconds=critical[0].at))).total_seconds() if seen else None
    figures = StormFigures(
        notifications=len(notifications),
        alerts=len(alerts),
        top_level_posts=len(parents),
        replies=len(posts) - len(parents),
        edits=sum(len(p.history) for p in posts),
        slack_calls=calls,
        stated=stated,
        instances=len(instances),
        named=sum(1 for name in instances if _named(texts, name)),
        critical_visible_after=after,
    )
    return StormRun(figures, posts, parents)
