"""Digest benchmark: the demo's day replayed under four batching setups, side by side.

The bundled stream (examples/events: 1 107 events over a day in six channels, with a
210-event alert storm in #alerts from 14:10) runs through MessageBatcher and the runtime on
a simulated clock, into a capturing sender that returns a ``ts`` and can edit (as
SlackSender does), with the demo's channel settings (#alerts: one digest per channel):

(a) seed defaults, live digests off: every flush is a new top-level post;
(b) + live digests (the default now): later flushes of a key go to its digest's thread;
(c) + flush_leading: the first event of a quiet key is posted at once;
(d) sliding window with a 15-minute cap (+ live digests).

Figures: top-level posts (what people see in the channels), Web API calls (posts,
replies and edits), top-level posts in the storm (#alerts 14:10–14:20), and the wait of
each event from arrival until Slack first shows it (p50/p99/max; a live digest's
re-post of its first items does not count, they were shown in the post itself).
Simulated time, so the figures are exact and do not depend on the machine.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from slack_batcher import BatchConfig, BatchingService, ManualClock, MemoryStore, MessageBatcher
from slack_batcher.delivery.base import PostResult
from slack_batcher.delivery.jsonl import FakeTimestamps
from slack_batcher.demo import (
    CHANNEL_CONFIG,
    DAY_START,
    STORM_CHANNEL,
    STORM_END,
    STORM_START,
    DemoEvent,
    load_events,
)
from slack_batcher.formatting.message import SlackMessage

EVENTS = Path(__file__).resolve().parent.parent / "examples" / "events"

SETUPS: list[tuple[str, BatchConfig]] = [
    ("(a) seed defaults, digests off", BatchConfig(live_digests=False)),
    ("(b) + live digests", BatchConfig()),
    ("(c) + flush_leading", BatchConfig(flush_leading=True)),
    ("(d) sliding, 15 min cap", BatchConfig(window="sliding", max_wait_minutes=15)),
]


@dataclass(slots=True)
class _Call:
    method: str
    channel: str
    at: datetime
    thread_ts: str | None
    message: SlackMessage


class CapturingSender:
    """Records posts and edits with the clock's time; invents ``ts`` like Slack."""

    supports_threads = True
    supports_updates = True

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.calls: list[_Call] = []
        self._ts = FakeTimestamps(clock)

    async def post(
        self, message: SlackMessage, *, channel: str, thread_ts: str | None = None
    ) -> PostResult:
        self.calls.append(_Call("post", channel, self.clock.now(), thread_ts, message))
        return PostResult(ts=self._ts.next(), channel=channel)

    async def update(self, message: SlackMessage, *, channel: str, ts: str) -> PostResult:
        self.calls.append(_Call("update", channel, self.clock.now(), None, message))
        return PostResult(ts=ts, channel=channel)

    async def close(self) -> None:
        return None


async def _replay(events: list[DemoEvent], service: BatchingService, clock: ManualClock) -> None:
    async with service:
        for event in events:
            arrival = DAY_START + timedelta(seconds=event.at)
            if arrival > clock.now():
                await service.advance(arrival - clock.now())
            await service.submit(event.message, event.channel)
        await service.advance(timedelta(minutes=40))


def _percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run_setup(events: list[DemoEvent], config: BatchConfig) -> dict[str, Any]:
    """Replay *events* under *config*; return the figures."""
    clock = ManualClock(DAY_START)
    batcher = MessageBatcher(config, clock=clock, store=MemoryStore(), auto_ack=False)
    for channel, changes in CHANNEL_CONFIG.items():
        batcher.configure_channel(channel, replace(config, **changes))
    sender = CapturingSender(clock)
    started = time.perf_counter()
    asyncio.run(_replay(events, BatchingService(batcher, sender), clock))
    elapsed = time.perf_counter() - started
    arrivals = {e.message.id: DAY_START + timedelta(seconds=e.at) for e in events}
    shown: dict[str, datetime] = {}
    for call in sender.calls:
        if call.method != "post" or call.message.metadata.get("digest_repost"):
            continue
        for message_id in call.message.metadata.get("message_ids", []):
            shown.setdefault(str(message_id), call.at)
    waits = sorted((shown[i] - arrivals[i]).total_seconds() for i in arrivals if i in shown)
    posts = [c for c in sender.calls if c.method == "post"]
    return {
        "top_level": sum(1 for c in posts if c.thread_ts is None),
        "calls": len(sender.calls),
        "storm_top_level": sum(
            1
            for c in posts
            if c.thread_ts is None
            and c.channel == STORM_CHANNEL
            and STORM_START <= c.at < STORM_END
        ),
        "shown": len(waits),
        "p50": _percentile(waits, 0.5),
        "p99": _percentile(waits, 0.99),
        "max": waits[-1],
        "seconds": elapsed,
    }


def main() -> None:
    """Print the table for docs/grouping.md."""
    events = load_events(EVENTS)
    print(f"{len(events)} events, simulated day; waits in seconds from arrival to first shown")
    header = (
        f"{'setup':<32}{'top-level':>10}{'API calls':>10}{'storm':>7}"
        f"{'p50':>7}{'p99':>7}{'max':>7}{'events':>8}"
    )
    print(header)
    for name, config in SETUPS:
        f = run_setup(events, config)
        print(
            f"{name:<32}{f['top_level']:>10}{f['calls']:>10}{f['storm_top_level']:>7}"
            f"{f['p50']:>7.0f}{f['p99']:>7.0f}{f['max']:>7.0f}{f['shown']:>8}"
            f"   ({f['seconds']:.1f} s to run)"
        )


if __name__ == "__main__":
    main()
