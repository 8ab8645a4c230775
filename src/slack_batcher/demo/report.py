"""What a replay did, per channel: events, posts, replies, edits, Slack calls, time to visible.

Read from a :class:`~slack_batcher.demo.replay.ReplayRun`: events are the messages the
routes sent to a channel (duplicates not counted); Slack calls are the posts, thread
replies and edits Slack accepted; an event's time to first visible runs from its arrival
until the first post, reply or edit that carries it: a small live digest's parent, edited
into the list of all its items, carries their ids; an edit into a digest's summary carries
none, so an event first counted only in a summary counts from its thread reply.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .replay import ReplayRun

__all__ = ["ChannelReport", "ReplayReport", "replay_report"]


@dataclass(slots=True)
class ChannelReport:
    """One channel's figures (or the total over every channel)."""

    channel: str
    events: int = 0
    top_level_posts: int = 0
    replies: int = 0
    edits: int = 0
    #: Seconds from each shown event's arrival to its first post or reply.
    waits: list[float] = field(default_factory=list)
    #: Events accepted into this channel that no post or reply carries (muted, dead-lettered).
    not_shown: int = 0

    @property
    def slack_calls(self) -> int:
        """Posts, thread replies and edits."""
        return self.top_level_posts + self.replies + self.edits

    def wait(self, which: str) -> float | None:
        """Return the ``p50``, ``mean`` or ``max`` time to first visible, in seconds."""
        if not self.waits:
            return None
        if which == "p50":
            return float(statistics.median(self.waits))
        if which == "mean":
            return statistics.fmean(self.waits)
        return max(self.waits)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        waits = {k: _rounded(self.wait(k)) for k in ("p50", "mean", "max")}
        return {
            "channel": self.channel,
            "events": self.events,
            "top_level_posts": self.top_level_posts,
            "replies": self.replies,
            "edits": self.edits,
            "slack_calls": self.slack_calls,
            "first_visible_seconds": waits,
            "not_shown": self.not_shown,
        }


def _rounded(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


@dataclass(slots=True)
class ReplayReport:
    """The whole replay: per-channel figures, the total, the answers, what is left over."""

    start: datetime
    end: datetime
    channels: list[ChannelReport]
    total: ChannelReport
    deliveries: dict[str, int]
    answers: dict[str, int]
    refused: list[str]
    #: Messages still in a batch or the outbox after the drain (0 when all went well).
    pending: int
    dead_letters: int

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (what ``slack-batcher replay --json`` prints)."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "deliveries": self.deliveries,
            "answers": self.answers,
            "refused": self.refused,
            "channels": [c.to_dict() for c in self.channels],
            "total": self.total.to_dict(),
            "pending": self.pending,
            "dead_letters": self.dead_letters,
        }


def replay_report(run: ReplayRun) -> ReplayReport:
    """Count what *run* did, per channel and in total."""
    tally = run.tally
    table = {c: ChannelReport(c, events=n) for c, n in tally.by_channel.items()}
    for call in run.ledger.calls:
        row = table.setdefault(call.channel, ChannelReport(call.channel))
        if call.is_edit:
            row.edits += 1
        elif call.is_reply:
            row.replies += 1
        else:
            row.top_level_posts += 1
    shown = run.ledger.first_shown()
    for routed, arrived in zip(tally.routed, tally.routed_at, strict=True):
        row = table[routed["channel"]]
        seen = shown.get((routed["channel"], routed["id"]))
        if seen is None:
            row.not_shown += 1
        else:
            row.waits.append(max(0.0, (seen - arrived).total_seconds()))
    channels = sorted(table.values(), key=lambda c: c.channel)
    total = ChannelReport("total")
    for row in channels:
        total.events += row.events
        total.top_level_posts += row.top_level_posts
        total.replies += row.replies
        total.edits += row.edits
        total.waits.extend(row.waits)
        total.not_shown += row.not_shown
    stats = run.stats
    return ReplayReport(
        start=run.start,
        end=run.end,
        channels=channels,
        total=total,
        deliveries=dict(tally.deliveries),
        answers=dict(tally.outcomes),
        refused=list(tally.refused),
        pending=int(stats.get("messages_pending", 0)) + int(stats.get("outbox_pending", 0)),
        dead_letters=int(stats.get("messages_dead_lettered", 0)),
    )
