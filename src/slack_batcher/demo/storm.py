"""The demo's storm figures: what live digests did to the afternoon's alert storm.

Read from the demo's ``posts.jsonl`` (one line per ``chat.postMessage``, and one with
``"method": "chat.update"`` per edit): top-level posts per channel (what people see in the
channel), and for the storm window the top-level posts, thread replies and edits. With
:func:`top_level_without_digests` the same events are replayed with live digests off, so
the demo can print before and after side by side.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..formatting.message import SlackMessage

if TYPE_CHECKING:
    from ..model.config import BatchConfig
    from .run import DemoPost

__all__ = [
    "StormFigures",
    "digest_thread",
    "read_lines",
    "storm_figures",
    "top_level_by_channel",
    "top_level_without_digests",
]


@dataclass(frozen=True, slots=True)
class StormFigures:
    """A channel's posts in a time window: the storm, with and without live digests."""

    channel: str
    start: datetime
    end: datetime
    events: int
    top_level: int
    replies: int
    edits: int
    top_level_without_digests: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "channel": self.channel,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "events": self.events,
            "top_level_posts": self.top_level,
            "thread_replies": self.replies,
            "edits": self.edits,
            "top_level_posts_without_digests": self.top_level_without_digests,
        }


def read_lines(posts_file: Path) -> list[dict[str, Any]]:
    """Return the lines of a JsonlSender file (posts and edits), in order."""
    if not posts_file.exists():
        return []
    text = posts_file.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _at(line: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(line["posted_at"])).astimezone(UTC)


def top_level_by_channel(lines: list[dict[str, Any]]) -> Counter[str]:
    """Count the posts people see in each channel (not replies, not edits)."""
    return Counter(
        str(line["channel"])
        for line in lines
        if line.get("method") != "chat.update" and "thread_ts" not in line
    )


def storm_figures(
    lines: list[dict[str, Any]],
    arrivals: list[tuple[str, datetime]],
    channel: str,
    start: datetime,
    end: datetime,
) -> StormFigures:
    """Count what happened in *channel* from *start* (inclusive) to *end* (exclusive).

    *arrivals* are (channel, arrival time) of every event.
    """
    inside = [line for line in lines if line["channel"] == channel and start <= _at(line) < end]
    edits = sum(1 for line in inside if line.get("method") == "chat.update")
    posts = [line for line in inside if line.get("method") != "chat.update"]
    return StormFigures(
        channel=channel,
        start=start,
        end=end,
        events=sum(1 for where, at in arrivals if where == channel and start <= at < end),
        top_level=sum(1 for line in posts if "thread_ts" not in line),
        replies=sum(1 for line in posts if "thread_ts" in line),
        edits=edits,
    )


def top_level_without_digests(
    config: BatchConfig,
    run: Callable[[BatchConfig, Path], None],
) -> list[dict[str, Any]]:
    """Run the demo again with live digests off (``run(config, posts_file)``); return its lines."""
    with tempfile.TemporaryDirectory(prefix="slack-batcher-demo-nodigest-") as tmp:
        posts_file = Path(tmp) / "posts.jsonl"
        run(replace(config, live_digests=False), posts_file)
        return read_lines(posts_file)


def digest_thread(
    posts: list[DemoPost], channel: str, start: datetime, end: datetime
) -> tuple[str, list[SlackMessage]] | None:
    """Return (heading, [final parent, *replies]) of the digest busiest in the window.

    The digest may have been posted before the window opened (a storm can join a digest
    that is still live); only its replies posted in the window count.
    """
    parents = [p for p in posts if p.channel == channel and p.thread_ts is None and p.ts]
    replies: dict[str, list[DemoPost]] = {}
    for post in posts:
        if post.thread_ts is not None:
            replies.setdefault(post.thread_ts, []).append(post)

    def in_window(parent: DemoPost) -> int:
        return sum(1 for p in replies.get(parent.ts or "", []) if start <= p.posted_at < end)

    busiest = max(parents, key=in_window, default=None)
    if busiest is None or not in_window(busiest):
        return None
    thread = sorted(replies[busiest.ts or ""], key=lambda p: p.posted_at)
    heading = (
        f"A live digest in {channel}, as it reads at the end: the post, edited in place, "
        f"then its whole thread ({len(thread)} replies, {in_window(busiest)} of them "
        f"{start:%H:%M}–{end:%H:%M})"
    )
    return heading, [busiest.message, *(p.message for p in thread)]
