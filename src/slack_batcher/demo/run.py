"""The demo: a day of a small team's webhooks through the real service, in a few seconds.

:func:`run_demo` replays the bundled day (``slack_batcher/data/demo-webhooks.jsonl``: GitHub,
Jira and Alertmanager bodies shaped as each provider documents them) through the HTTP
service's source endpoints: each delivery is signed (HMAC for GitHub and Jira, a bearer
token for Alertmanager) and posted to ``/v1/sources/<source>``, routed by the ``[[routes]]``
of the starter configuration (``slack-batcher config init`` writes the same file), batched
on a SQLite store in a temporary directory and delivered by the runtime to the JSONL dry-run
sender, on a simulated clock. It writes ``posts.jsonl`` (every ``chat.postMessage``
payload), ``summary.json`` (per channel, and which messages each post carries) and
``index.html`` (every post as Slack would show it), and returns the figures.
:func:`~slack_batcher.demo.post.post_for_real` then sends them to a real channel, paced.

A delivery line is ``{"at": seconds after the day's start, "source": "github",
"event": "pull_request", "delivery": "<id>", "body": {…}}`` (``event`` and ``delivery``
for GitHub; Jira's id is its ``X-Atlassian-Webhook-Identifier``).
"""

from __future__ import annotations

import json
import logging
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..delivery.jsonl import JsonlSender
from ..formatting.message import SlackMessage
from ..http.preview import render_page
from ..http.settings import ServiceSettings
from ..model.config import BatchConfig
from ..sources.settings import SourcesSettings
from .data import (
    DemoDelivery,
    demo_settings,
    load_deliveries,
    starter_config,
)
from .ledger import CallLedger
from .replay import ReplayRun, Tally, run_replay, without_digests
from .report import ReplayReport, replay_report
from .storm import (
    StormFigures,
    digest_thread,
    read_lines,
    storm_figures,
    top_level_by_channel,
    top_level_without_digests,
)

__all__ = [
    "DAY_START",
    "ChannelFigures",
    "DemoDelivery",
    "DemoPost",
    "DemoResult",
    "demo_settings",
    "load_deliveries",
    "run_demo",
    "starter_config",
]

logger = logging.getLogger(__name__)

#: The simulated day starts at 08:30 UTC on a Monday.
DAY_START = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
#: The afternoon's alert storm, whose posts the demo reports (with and without digests).
#: The starter config's alerts route keeps one live digest for all services in that channel
#: (``digest_by = []``); elsewhere the default digest key applies (type and scope).
STORM_CHANNEL = "#alerts"
STORM_START = datetime(2026, 3, 2, 14, 10, tzinfo=UTC)
STORM_END = datetime(2026, 3, 2, 14, 20, tzinfo=UTC)


@dataclass(slots=True)
class DemoPost:
    """One Slack post the demo made: a page of a rendered batch."""

    channel: str
    posted_at: datetime
    message: SlackMessage
    event_ids: list[str]
    longest_wait_seconds: float
    #: The ``ts`` the dry-run sender gave it, and the ``ts`` it replied to (threads).
    ts: str | None = None
    thread_ts: str | None = None


@dataclass(slots=True)
class ChannelFigures:
    """A channel's result: events in, Slack calls out, top-level posts, waits."""

    channel: str
    events: int = 0
    #: Posts and thread replies (every page), and edits of live digests.
    posts: int = 0
    edits: int = 0
    #: Seconds from an event's arrival until a post or reply first showed it: median, max.
    p50_wait_seconds: float = 0.0
    longest_wait_seconds: float = 0.0
    #: Posts people see in the channel (not thread replies), and as many without digests.
    top_level: int = 0
    top_level_without_digests: int | None = None

    @property
    def slack_calls(self) -> int:
        """Posts, replies and edits: what Slack's rate limits count."""
        return self.posts + self.edits


@dataclass(slots=True)
class DemoResult:
    """What the demo did, per channel and post, and where it wrote its files."""

    channels: list[ChannelFigures]
    posts: list[DemoPost]
    output_dir: Path
    stats: dict[str, Any] = field(default_factory=dict)
    #: Deliveries per source, and per answer (``accepted``, ``ignored``, ``duplicate`` …).
    deliveries: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    #: The alert storm's posts, edits and replies (with live digests on).
    storm: StormFigures | None = None

    @property
    def total_events(self) -> int:
        """Messages routed to channels (one per channel a delivery went to)."""
        return sum(c.events for c in self.channels)

    @property
    def total_posts(self) -> int:
        """Slack posts made (continuation pages included)."""
        return len(self.posts)


def _collect_posts(ledger: CallLedger, arrivals: dict[str, datetime]) -> list[DemoPost]:
    """Every post and reply in order, each showing its latest version (edits applied)."""
    posts: list[DemoPost] = []
    by_ts: dict[tuple[str, str], int] = {}
    shown = ledger.first_shown()
    for call in ledger.calls:
        if call.is_edit:
            index = by_ts.get((call.channel, call.ts or ""))
            if index is not None:  # the summary now: its items are in the thread
                posts[index].message = call.message
                posts[index].event_ids = call.message_ids
            continue
        ids = call.message_ids
        waits = [
            (shown[(call.channel, i)] - arrivals[i]).total_seconds() for i in ids if i in arrivals
        ]
        if call.ts:
            by_ts[(call.channel, call.ts)] = len(posts)
        posts.append(
            DemoPost(call.channel, call.at, call.message, ids, max(waits, default=0), call.ts,
                     call.thread_ts)
        )  # fmt: skip
    return posts


def _figures(report: ReplayReport) -> list[ChannelFigures]:
    return [
        ChannelFigures(
            row.channel,
            events=row.events,
            posts=row.top_level_posts + row.replies,
            edits=row.edits,
            p50_wait_seconds=row.wait("p50") or 0.0,
            longest_wait_seconds=row.wait("max") or 0.0,
            top_level=row.top_level_posts,
        )
        for row in report.channels
    ]


def _write_outputs(result: DemoResult) -> None:
    out = result.output_dir
    summary = {
        "deliveries": dict(result.deliveries),
        "answers": dict(result.outcomes),
        "events": result.total_events,
        "posts": result.total_posts,
        "channels": [
            {
                "channel": c.channel,
                "events": c.events,
                "posts": c.posts,
                "edits": c.edits,
                "slack_calls": c.slack_calls,
                "p50_wait_seconds": round(c.p50_wait_seconds, 1),
                "longest_wait_seconds": round(c.longest_wait_seconds, 1),
                "top_level_posts": c.top_level,
                "top_level_posts_without_digests": c.top_level_without_digests,
            }
            for c in result.channels
        ],
        "storm": result.storm.to_dict() if result.storm else None,
        "post_events": [
            {"channel": p.channel, "posted_at": p.posted_at.isoformat(), "event_ids": p.event_ids}
            for p in result.posts
        ],
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    sections = [
        (
            f"{c.channel} — {c.events} events → {c.top_level} posts in the channel, "
            f"{c.slack_calls} Slack calls with replies and edits",
            [p.message for p in result.posts if p.channel == c.channel],
        )
        for c in result.channels
    ]
    thread = digest_thread(result.posts, STORM_CHANNEL, STORM_START, STORM_END)
    if thread is not None:
        sections.insert(0, thread)
    page = render_page(sections, title="slack-batcher demo: a day of a small team")
    (out / "index.html").write_text(page, encoding="utf-8")


def run_demo(
    output_dir: Path,
    *,
    deliveries: list[DemoDelivery] | None = None,
    settings: ServiceSettings | None = None,
    progress: Callable[[int], None] | None = None,
) -> DemoResult:
    """Replay *deliveries* (default: the bundled day) through the service; write *output_dir*.

    *settings* supplies the batching configuration and the routes (default: the starter
    configuration); the sources get fresh random secrets and the posts go to the JSONL
    dry-run sender. *progress* is called with the number of deliveries replayed so far. A
    delivery the service refuses raises ValueError. With live digests on, the day is
    replayed a second time without them, to count the channel posts they saved.
    """
    deliveries = deliveries if deliveries is not None else load_deliveries()
    settings = settings if settings is not None else demo_settings()
    output_dir.mkdir(parents=True, exist_ok=True)
    posts_file = output_dir / "posts.jsonl"
    run = run_day(deliveries, settings, posts_file, progress)
    tally = run.tally
    posts = _collect_posts(run.ledger, tally.arrivals)
    result = DemoResult(
        _figures(replay_report(run)),
        posts,
        output_dir,
        run.stats,
        tally.deliveries,
        tally.outcomes,
    )
    _add_digest_figures(result, deliveries, settings, tally, posts_file)
    _write_outputs(result)
    return result


def with_demo_secrets(settings: ServiceSettings) -> ServiceSettings:
    """Return *settings* with fresh random secrets for every source (the demo signs with them)."""
    sources = SourcesSettings.model_validate(
        {
            "github": {"secret": secrets.token_hex(16)},
            "jira": {"secret": secrets.token_hex(16)},
            "alertmanager": {"token": secrets.token_hex(16)},
        }
    )
    return settings.model_copy(update={"sources": sources})


def run_day(
    deliveries: list[DemoDelivery],
    settings: ServiceSettings,
    posts_file: Path,
    progress: Callable[[int], None] | None = None,
    *,
    live_digests: bool = True,
) -> ReplayRun:
    """Replay the day as the demo does: random secrets, the JSONL sender into *posts_file*.

    With ``live_digests=False`` every channel's digests are off and the store is memory
    (the comparison run only counts posts); a refused delivery raises ValueError.
    """
    settings = with_demo_secrets(settings)
    if not live_digests:
        settings = settings.model_copy(
            update={"store": settings.store.model_copy(update={"url": "memory://"})}
        )
    posts_file.unlink(missing_ok=True)
    return run_replay(
        deliveries,
        settings,
        start=DAY_START,
        sender=lambda clock: JsonlSender(posts_file, clock=clock),
        tweak=None if live_digests else without_digests,
        progress=progress,
        strict=True,
    )


def _add_digest_figures(
    result: DemoResult,
    deliveries: list[DemoDelivery],
    settings: ServiceSettings,
    tally: Tally,
    posts_file: Path,
) -> None:
    """Count top-level posts per channel and the storm's posts; with digests, also without."""
    lines = read_lines(posts_file)
    arrivals = [
        (line["channel"], at) for line, at in zip(tally.routed, tally.routed_at, strict=True)
    ]
    storm = storm_figures(lines, arrivals, STORM_CHANNEL, STORM_START, STORM_END)
    before = None
    if settings.batch_config.live_digests:

        def rerun(changed: BatchConfig, path: Path) -> None:
            run_day(deliveries, settings, path, None, live_digests=changed.live_digests)

        before = top_level_without_digests(settings.batch_config, rerun)
        without = storm_figures(before, arrivals, STORM_CHANNEL, STORM_START, STORM_END)
        storm = replace(storm, top_level_without_digests=without.top_level)
    after = top_level_by_channel(lines)
    counted = top_level_by_channel(before) if before is not None else None
    for figures in result.channels:
        figures.top_level = after[figures.channel]
        if counted is not None:
            figures.top_level_without_digests = counted[figures.channel]
    result.storm = storm
