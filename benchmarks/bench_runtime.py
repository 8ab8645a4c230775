"""Runtime benchmarks: deadline-to-post latency with 10k pending batches; delivery throughput.

Both post through the real slack_sdk client (SlackSender) into FakeSlack on 127.0.0.1, on
the system clock.

FakeSlack runs in a child process, so that the server does not share the client's GIL.

1. Latency: 10 000 batches are pending when the service starts, falling due one every
   ``SPACING_MS`` (no rate limiting); the first ``MEASURED_SECONDS`` of deadlines are
   measured, with the rest still pending (the shutdown leaves them, deadline 0 s).
   Latency is from a batch's due time to Slack's answer to its post. Goal: p99 ≤ 100 ms.
2. Throughput: an outbox of posts over many channels, delivered with pacing off (FakeSlack
   unlimited) and on (FakeSlack enforcing Slack's 1 post/s per channel, bursts of 3).
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from slack_batcher import (
    BatchableMessage,
    BatchConfig,
    BatchingService,
    ContentType,
    MemoryStore,
    MessageBatcher,
    ServiceConfig,
)
from slack_batcher.delivery.slack import SlackSender

TOKEN = "xoxb-bench"
PENDING = 10_000
SPACING_MS = 10.0
MEASURED_SECONDS = 15
CHANNELS = 1000

_SERVER = f"""
import sys
from slack_batcher.testing import FakeSlack
rate = None if sys.argv[1] == "none" else float(sys.argv[1])
with FakeSlack(token={TOKEN!r}, posts_per_second=rate, burst=3) as slack:
    print(slack.base_url, flush=True)
    sys.stdin.read()
    print(sum(1 for r in slack.requests if r.status == 429), flush=True)
"""


class Server:
    """A FakeSlack child process: ``base_url``, and ``refused`` (429s) once stopped."""

    def __init__(self, process: subprocess.Popen[str], base_url: str) -> None:
        self.process = process
        self.base_url = base_url
        self.refused = 0


@contextmanager
def fake_slack(posts_per_second: float | None) -> Iterator[Server]:
    rate = "none" if posts_per_second is None else str(posts_per_second)
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVER, rate],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    server = Server(process, process.stdout.readline().strip())
    try:
        yield server
    finally:
        process.stdin.close()
        server.refused = int(process.stdout.readline().strip() or 0)
        process.stdout.close()
        process.wait(timeout=30)


class SetupClock:
    """The system clock shifted by ``offset``, or ``frozen`` while set (to open batches).

    Opening 10 000 batches takes seconds; the offset then makes the first one fall due
    shortly after the service starts, however long that took.
    """

    def __init__(self) -> None:
        self.frozen: datetime | None = None
        self.offset = timedelta(0)

    def now(self) -> datetime:
        if self.frozen is not None:
            return self.frozen
        return datetime.now(UTC) + self.offset


def message(number: int) -> BatchableMessage:
    return BatchableMessage(
        id=f"m{number}",
        content_type=ContentType.PR_UPDATE,
        author=f"dev{number % 7}",
        data={"repository": f"acme/r{number}", "number": number, "title": f"Change {number}"},
    )


async def latency() -> None:
    clock = SetupClock()
    config = BatchConfig(max_batch_size=10, max_channels=CHANNELS)
    batcher = MessageBatcher(config, clock=clock, store=MemoryStore(), auto_ack=False)
    window = config.max_batch_age
    first_due = datetime.now(UTC) + timedelta(seconds=3)
    for number in range(PENDING):
        due = first_due + timedelta(milliseconds=SPACING_MS * number)
        clock.frozen = due - window
        batcher.add(message(number), f"C{number % CHANNELS}")
    clock.frozen = None
    assert batcher.get_batch_stats()["batches_pending"] == PENDING
    # The shutdown leaves the unmeasured batches undelivered on purpose: no error log.
    logging.getLogger("slack_batcher").setLevel(logging.CRITICAL)
    with fake_slack(None) as slack:
        sender = SlackSender(TOKEN, base_url=slack.base_url)
        service_config = ServiceConfig(pacing=False, shutdown_timeout_seconds=0)
        clock.offset = first_due - timedelta(seconds=0.5) - datetime.now(UTC)
        async with BatchingService(batcher, sender, config=service_config) as service:
            end = first_due + timedelta(seconds=MEASURED_SECONDS)
            while clock.now() < end:
                await asyncio.sleep(0.05)
            figures = service.metrics.latency_percentiles()
            posts = service.stats()["posts"]
            pending = batcher.get_batch_stats()["batches_pending"]
    logging.getLogger("slack_batcher").setLevel(logging.NOTSET)
    p50, p99, top = (1000 * (figures[k] or 0.0) for k in ("p50", "p99", "max"))
    verdict = "meets" if p99 <= 100 else "MISSES"
    print(
        f"deadline-to-post latency, {PENDING} batches pending at start, due "
        f"{1000 / SPACING_MS:.0f}/s; {MEASURED_SECONDS} s measured, {pending} still pending; "
        "pacing off:"
    )
    print(
        f"  p50 {p50:7.1f} ms   p99 {p99:7.1f} ms   max {top:7.1f} ms   "
        f"({posts} posts; goal p99 <= 100 ms: {verdict})"
    )


async def throughput(*, pacing: bool, posts: int, channels: int) -> tuple[float, int, int]:
    batcher = MessageBatcher(BatchConfig(max_batch_size=1), store=MemoryStore(), auto_ack=False)
    for number in range(posts):
        batcher.add(message(number), f"C{number % channels}")  # each one flushes at once
    with fake_slack(1.0 if pacing else None) as slack:
        sender = SlackSender(TOKEN, base_url=slack.base_url)
        config = ServiceConfig(pacing=pacing, workspace_posts_per_minute=6000, workspace_burst=100)
        started = time.perf_counter()
        async with BatchingService(batcher, sender, config=config) as service:
            while batcher.outbox.size():
                await asyncio.sleep(0.01)
            elapsed = time.perf_counter() - started
            stats = service.stats()
    return stats["posts"] / elapsed, slack.refused, stats["posts"]


async def run() -> None:
    await latency()
    print("delivery throughput into FakeSlack (SlackSender, one post per batch):")
    rate, refused, sent = await throughput(pacing=False, posts=3000, channels=100)
    print(f"  pacing off (Slack unlimited):          {rate:7.0f} posts/s  ({sent} posts)")
    rate, refused, sent = await throughput(pacing=True, posts=1000, channels=200)
    print(
        f"  pacing on (1/s per channel, burst 3; workspace 100/s, burst 100): "
        f"{rate:5.0f} posts/s  ({sent} posts over 200 channels, {refused} answered 429)"
    )


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
