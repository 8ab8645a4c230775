"""The demo: a day of a small team's events through the real pipeline, in a few seconds.

:func:`run_demo` replays ``examples/events/*.jsonl`` (one JSON object a line:
``{"at": seconds after the day's start, "channel": "#dev-api", "event": {…}}``) through a
:class:`MessageBatcher` on a SQLite store in a temporary directory, the
:class:`BatchingService` runtime and the JSONL dry-run sender, on a simulated clock. It writes
``posts.jsonl`` (every ``chat.postMessage`` payload), ``summary.json`` (per channel, and which
events each post carries) and ``index.html`` (every post as Slack would show it) to the
output directory, and returns the figures. :func:`post_for_real` then sends those posts to a
real Slack channel, paced, when a bot token and a channel are given.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .batcher import MessageBatcher
from .clock import ManualClock
from .config import BatchConfig
from .delivery.base import Sender
from .delivery.jsonl import JsonlSender
from .demo_storm import (
    StormFigures,
    digest_thread,
    read_lines,
    storm_figures,
    top_level_by_channel,
    top_level_without_digests,
)
from .errors import DeliveryError, TransientDeliveryError
from .formatting.factory import SlackMessageFormatterFactory
from .formatting.message import SlackMessage
from .http.recent import RecordingSender
from .models import BatchableMessage
from .preview import render_page
from .runtime.service import BatchingService
from .store.sqlite import SQLiteStore

__all__ = [
    "DAY_START",
    "ChannelFigures",
    "DemoEvent",
    "DemoPost",
    "DemoResult",
    "load_events",
    "post_for_real",
    "run_demo",
]

logger = logging.getLogger(__name__)

#: The simulated day starts at 08:30 UTC on a Monday.
DAY_START = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
#: The afternoon's alert storm, whose posts the demo reports (with and without digests).
#: The on-call channel keeps one live digest for all services, a section each (a route's
#: ``digest_by = []``); elsewhere the default digest key applies (type and scope).
STORM_CHANNEL = "#alerts"
CHANNEL_CONFIG: dict[str, dict[str, Any]] = {STORM_CHANNEL: {"digest_by": []}}
STORM_START = datetime(2026, 3, 2, 14, 10, tzinfo=UTC)
STORM_END = datetime(2026, 3, 2, 14, 20, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class DemoEvent:
    """One event of the stream: when it arrives (seconds after the start) and where."""

    at: float
    channel: str
    message: BatchableMessage


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
    """A channel's result: events in, Slack posts out, and the longest wait of an event."""

    channel: str
    events: int = 0
    posts: int = 0
    longest_wait_seconds: float = 0.0
    #: Posts people see in the channel (not thread replies), and as many without digests.
    top_level: int = 0
    top_level_without_digests: int | None = None

    @property
    def reduction(self) -> float:
        """Share of posts avoided (0.8: one post per five events)."""
        return 1 - self.posts / self.events if self.events else 0.0


@dataclass(slots=True)
class DemoResult:
    """What the demo did, per channel and post, and where it wrote its files."""

    channels: list[ChannelFigures]
    posts: list[DemoPost]
    output_dir: Path
    stats: dict[str, Any] = field(default_factory=dict)
    #: The alert storm's posts, edits and replies (with live digests on).
    storm: StormFigures | None = None

    @property
    def total_events(self) -> int:
        """Events replayed."""
        return sum(c.events for c in self.channels)

    @property
    def total_posts(self) -> int:
        """Slack posts made (continuation pages included)."""
        return len(self.posts)


def load_events(directory: Path, start: datetime = DAY_START) -> list[DemoEvent]:
    """Read every ``*.jsonl`` file in *directory*, in arrival order.

    An event without a ``timestamp`` happened when it arrived (``start + at``). A bad line
    raises ValueError naming the file and line.
    """
    events: list[DemoEvent] = []
    files = sorted(directory.glob("*.jsonl"))
    if not files:
        raise ValueError(f"{directory}: no *.jsonl event files")
    for path in files:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    raw = dict(row["event"])
                    at = float(row["at"])
                    raw.setdefault("timestamp", (start + timedelta(seconds=at)).isoformat())
                    events.append(
                        DemoEvent(at, str(row["channel"]), BatchableMessage.from_dict(raw))
                    )
                except (ValueError, KeyError, TypeError) as exc:
                    raise ValueError(f"{path.name} line {number}: {exc}") from None
    events.sort(key=lambda e: e.at)
    return events


async def _replay(
    events: list[DemoEvent],
    service: BatchingService,
    clock: ManualClock,
    start: datetime,
    progress: Callable[[int], None] | None,
) -> None:
    async with service:
        for index, event in enumerate(events, start=1):
            arrival = start + timedelta(seconds=event.at)
            if arrival > clock.now():
                await service.advance(arrival - clock.now())
            await service.submit(event.message, event.channel)
            if progress is not None:
                progress(index)
        window = service.batcher.config.max_batch_age
        await service.advance(window + timedelta(minutes=5))


def _collect_posts(recorder: RecordingSender, arrivals: dict[str, datetime]) -> list[DemoPost]:
    posts: list[DemoPost] = []
    shown_at = {recent.ts: recent.posted_at for recent in recorder.recent() if recent.ts}
    for recent in reversed(recorder.recent()):
        ids = [str(i) for i in recent.message.metadata.get("message_ids", [])]
        seen = recent.posted_at
        if recent.message.metadata.get("digest_repost") and recent.thread_ts in shown_at:
            seen = shown_at[recent.thread_ts]  # a live digest's first items, shown in its post
        waits = [(seen - arrivals[i]).total_seconds() for i in ids if i in arrivals]
        posts.append(
            DemoPost(
                recent.channel,
                recent.posted_at,
                recent.message,
                ids,
                max(waits, default=0),
                recent.ts,
                recent.thread_ts,
            )
        )
    return posts


def _figures(events: list[DemoEvent], posts: list[DemoPost]) -> list[ChannelFigures]:
    table: dict[str, ChannelFigures] = {}
    for event in events:
        table.setdefault(event.channel, ChannelFigures(event.channel)).events += 1
    for post in posts:
        figures = table.setdefault(post.channel, ChannelFigures(post.channel))
        figures.posts += 1
        figures.longest_wait_seconds = max(figures.longest_wait_seconds, post.longest_wait_seconds)
    return sorted(table.values(), key=lambda c: c.channel)


def _write_outputs(result: DemoResult) -> None:
    out = result.output_dir
    summary = {
        "events": result.total_events,
        "posts": result.total_posts,
        "channels": [
            {
                "channel": c.channel,
                "events": c.events,
                "posts": c.posts,
                "reduction": round(c.reduction, 4),
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
            f"{c.channel} — {c.events} events → {c.posts} posts ({c.reduction:.0%} fewer)",
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
    events_dir: Path,
    output_dir: Path,
    *,
    config: BatchConfig | None = None,
    progress: Callable[[int], None] | None = None,
    events: list[DemoEvent] | None = None,
) -> DemoResult:
    """Replay the events in *events_dir* through the real pipeline; write *output_dir*.

    *progress* is called with the number of events replayed so far.
    """
    events = events if events is not None else load_events(events_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    posts_file = output_dir / "posts.jsonl"
    arrivals = {e.message.id: DAY_START + timedelta(seconds=e.at) for e in events}
    chosen = config or BatchConfig()
    recorder, stats = _run(events, chosen, posts_file, progress)
    posts = _collect_posts(recorder, arrivals)
    result = DemoResult(_figures(events, posts), posts, output_dir, stats)
    _add_digest_figures(result, events, chosen, posts_file)
    _write_outputs(result)
    return result


def _run(
    events: list[DemoEvent],
    config: BatchConfig,
    posts_file: Path,
    progress: Callable[[int], None] | None,
) -> tuple[RecordingSender, dict[str, Any]]:
    posts_file.unlink(missing_ok=True)
    clock = ManualClock(DAY_START)
    with tempfile.TemporaryDirectory(prefix="slack-batcher-demo-") as tmp:
        store = SQLiteStore(Path(tmp) / "batches.db")
        batcher = MessageBatcher(
            config,
            SlackMessageFormatterFactory(),
            clock=clock,
            store=store,
            auto_ack=False,
        )
        for channel, changes in CHANNEL_CONFIG.items():
            batcher.configure_channel(channel, replace(config, **changes))
        recorder = RecordingSender(
            JsonlSender(posts_file, clock=clock), limit=len(events) * 2 + 10, clock=clock
        )
        service = BatchingService(batcher, recorder)
        try:
            asyncio.run(_replay(events, service, clock, DAY_START, progress))
            stats = batcher.get_batch_stats()
        finally:
            batcher.close()
    return recorder, stats


def _add_digest_figures(
    result: DemoResult, events: list[DemoEvent], config: BatchConfig, posts_file: Path
) -> None:
    """Count top-level posts per channel and the storm's posts; with digests, also without."""
    lines = read_lines(posts_file)
    arrivals = [(e.channel, DAY_START + timedelta(seconds=e.at)) for e in events]
    storm = storm_figures(lines, arrivals, STORM_CHANNEL, STORM_START, STORM_END)
    before = None
    if config.live_digests:

        def rerun(changed: BatchConfig, path: Path) -> None:
            _run(events, changed, path, None)

        before = top_level_without_digests(config, rerun)
        without = storm_figures(before, arrivals, STORM_CHANNEL, STORM_START, STORM_END)
        storm = replace(storm, top_level_without_digests=without.top_level)
    after = top_level_by_channel(lines)
    counted = top_level_by_channel(before) if before is not None else None
    for figures in result.channels:
        figures.top_level = after[figures.channel]
        if counted is not None:
            figures.top_level_without_digests = counted[figures.channel]
    result.storm = storm


async def post_for_real(
    posts: list[DemoPost],
    sender: Sender,
    channel: str,
    *,
    interval_seconds: float = 1.1,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Post the demo's posts to one real *channel*, paced, honouring Retry-After.

    Replies (continuation pages, related batches) go in the same threads as in the dry run.
    Return how many were posted; a permanent error (bad token, unknown channel) stops and is
    raised.
    """
    real_ts: dict[str, str] = {}
    posted = 0
    try:
        for index, post in enumerate(posts, start=1):
            thread = real_ts.get(post.thread_ts) if post.thread_ts else None
            for _attempt in range(5):
                try:
                    result = await sender.post(post.message, channel=channel, thread_ts=thread)
                    break
                except TransientDeliveryError as exc:
                    await asyncio.sleep(exc.retry_after or 5.0)
            else:
                raise DeliveryError("gave_up", f"post {index} kept failing")
            if post.ts and result.ts:
                real_ts[post.ts] = result.ts
            posted += 1
            if progress is not None:
                progress(index)
            await asyncio.sleep(interval_seconds)
    finally:
        await sender.close()
    return posted
