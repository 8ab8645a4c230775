"""BatchingService end to end: the real slack_sdk client (SlackSender) against FakeSlack.

FakeSlack shares the test's ManualClock, so its per-channel rate limit (1 post/s, bursts of
3 — Slack's) and our pacing see the same time; ``service.advance`` moves it wake-up by
wake-up. Faults are injected in FakeSlack, never by mocking the client.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest

from slack_batcher import (
    BatchableMessage,
    BatchConfig,
    BatchingService,
    ContentType,
    ManualClock,
    MemoryStore,
    MessageBatcher,
    ServiceConfig,
)
from slack_batcher.delivery.slack import SlackSender
from slack_batcher.testing import FakeSlack, Post

TOKEN = "xoxb-fake-token"
EVENT = re.compile(r"evt-\d{4}")
CHANNELS = [f"C{n:02d}" for n in range(10)]


def event(number: int) -> BatchableMessage:
    """Event *number*: a PR, JIRA, CI or alert update whose title carries its id."""
    kind = number % 4
    tag = f"evt-{number:04d}"
    if kind == 0:
        return BatchableMessage(
            id=tag,
            content_type=ContentType.PR_UPDATE,
            author=f"dev{number % 3}",
            data={"repository": "acme/api", "number": number % 7, "title": tag},
        )
    if kind == 1:
        return BatchableMessage(
            id=tag,
            content_type=ContentType.JIRA_UPDATE,
            author=f"dev{number % 3}",
            data={"project": "acme/api", "key": f"API-{number % 5}", "summary": tag},
        )
    if kind == 2:
        return BatchableMessage(
            id=tag,
            content_type=ContentType.CI_BUILD,
            data={"repository": "acme/api", "pipeline": "main", "title": tag},
        )
    return BatchableMessage(
        id=tag,
        content_type=ContentType.ALERT,
        priority="high",
        data={"alertname": "HighLatency", "service": f"svc{number % 2}", "title": tag},
    )


def events_in(post: Post) -> list[str]:
    return sorted(set(EVENT.findall(json.dumps(post.blocks))))


def event_counts(posts: list[Post]) -> Counter[str]:
    """Count the events posts carry: an edited post with a thread is a live digest's summary,
    whose items are in its thread (docs/grouping.md), so it carries none; an edited post
    with no thread is a small digest's parent, listing every item it took."""
    threads = {post.thread_ts for post in posts if post.is_reply}
    return Counter(
        tag
        for post in posts
        if not post.history or post.ts not in threads
        for tag in events_in(post)
    )


Factory = Callable[..., tuple[MessageBatcher, BatchingService]]


@pytest.fixture
def make_service(clock: ManualClock, slack: FakeSlack) -> Factory:
    def make(
        config: BatchConfig | None = None, timeout: float = 5.0, **service: Any
    ) -> tuple[MessageBatcher, BatchingService]:
        batcher = MessageBatcher(config, clock=clock, store=MemoryStore(), auto_ack=False)
        sender = SlackSender(TOKEN, base_url=slack.base_url, timeout=timeout)
        return batcher, BatchingService(batcher, sender, config=ServiceConfig(**service))

    return make


def assert_paced(posts: list[Post], rate: float = 1.0, burst: int = 3) -> None:
    """No window of any length holds more than burst + rate × length posts of one channel."""
    by_channel: dict[str, list[Any]] = {}
    for post in posts:
        by_channel.setdefault(post.channel, []).append(post.received_at)
    for times in by_channel.values():
        for i, start in enumerate(times):
            for j in range(i, len(times)):
                length = (times[j] - start).total_seconds()
                assert j - i + 1 <= burst + rate * length + 1e-6


async def test_500_events_over_10_channels_arrive_once_each_within_the_pace(
    clock: ManualClock, slack: FakeSlack, make_service: Factory
) -> None:
    config = BatchConfig(max_batch_size=12, items_per_page=4)
    batcher, service = make_service(config)
    async with service:
        for number in range(500):
            await service.submit(event(number), CHANNELS[number % 10])
            await service.advance(1.1)
        await service.advance(timedelta(minutes=10))
        assert batcher.outbox.size() == 0
    posts = slack.posts
    counts = event_counts(posts)
    assert sorted(counts) == [f"evt-{n:04d}" for n in range(500)]
    assert set(counts.values()) == {1}
    assert not [r for r in slack.requests if r.status == 429]
    assert_paced(posts)
    paged = 0
    for parent in (p for p in posts if not p.is_reply):
        replies = slack.replies(parent.channel, parent.ts)
        labels = [re.search(r"\((\d+)/(\d+)\)", r.text) for r in replies]
        numbers = [int(label.group(1)) for label in labels if label]
        # Pages of one batch in order; a later batch about the same thing starts again at 1.
        assert all(b == a + 1 or b == 1 for a, b in pairwise(numbers))
        paged += bool(numbers) and numbers[0] == 2
    assert paged > 0
    stats = service.stats()
    assert stats["posts"] == len(posts)
    assert stats["dead_letters"] == 0 and stats["rate_limited"] == 0


async def test_a_429_storm_is_waited_out_exactly_as_slack_asks(
    clock: ManualClock, slack: FakeSlack, make_service: Factory
) -> None:
    batcher, service = make_service()
    slack.fail("ratelimited", retry_after=7, channel="C00", times=3)
    async with service:
        for number in range(20):
            await service.submit(event(number * 10), "C00")
            await service.submit(event(number * 10 + 1), "C01")
        await service.advance(120)
    c00 = [r for r in slack.requests if r.channel == "C00"]
    assert [r.status for r in c00[:4]] == [429, 429, 429, 200]
    gaps = [(b.received_at - a.received_at).total_seconds() for a, b in pairwise(c00[:4])]
    assert gaps == [7.0, 7.0, 7.0]
    assert sorted(event_counts(slack.posts)) == sorted(
        f"evt-{n * 10 + k:04d}" for n in range(20) for k in (0, 1)
    )
    assert service.stats()["rate_limited"] == 3
    first_c01 = next(p for p in slack.posts if p.channel == "C01")
    assert first_c01.received_at < c00[3].received_at  # C01 never waited for C00
    assert batcher.dead_letters() == []


async def test_a_burst_of_server_errors_is_retried_until_delivered(
    clock: ManualClock, slack: FakeSlack, make_service: Factory
) -> None:
    batcher, service = make_service()
    slack.fail(status=503, times=12)
    async with service:
        for number in range(60):
            await service.submit(event(number), CHANNELS[number % 3])
        await service.advance(600)
    counts = event_counts(slack.posts)
    assert sorted(counts) == [f"evt-{n:04d}" for n in range(60)]
    assert set(counts.values()) == {1}
    assert service.stats()["errors_by_code"] == {"http_503": 12}
    assert batcher.dead_letters() == []


async def test_a_channel_that_times_out_does_not_hold_up_the_others(
    clock: ManualClock, slack: FakeSlack, make_service: Factory
) -> None:
    batcher, service = make_service(timeout=0.2)
    slack.fail(delay=0.6, channel="CSLOW", times=2)
    async with service:
        for number in range(10):
            await service.submit(event(number), "CSLOW" if number < 5 else "CFAST")
        await service.advance(300)  # the windows close: CSLOW times out, CFAST delivers
        assert service.stats()["errors_by_code"] == {"timeout": 1}
        closed = clock.now()
        await service.advance(3)  # CFAST's own pace (a digest's edit and re-post count too)
        fast = slack.posts_in("CFAST")
        assert sorted(event_counts(fast)) == [f"evt-{n:04d}" for n in range(5, 10)]
        assert min(p.received_at for p in fast) == closed  # no wait for CSLOW's retry
        await service.advance(60)
    stats = service.stats()
    assert stats["errors_by_code"] == {"timeout": 2}
    # A timed-out request may still be carried out by Slack (FakeSlack does, late).
    deadline = time.monotonic() + 5
    while len([r for r in slack.requests if r.channel == "CSLOW"]) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    counts = event_counts(slack.posts)
    assert sorted(counts) == [f"evt-{n:04d}" for n in range(10)]
    duplicates = sum(count - 1 for count in counts.values()) // 5
    assert duplicates <= stats["possible_duplicates"] == 2
    assert batcher.outbox.size() == 0


async def test_a_missing_channel_is_dead_lettered_while_the_others_deliver(
    clock: ManualClock, slack: FakeSlack, make_service: Factory
) -> None:
    batcher, service = make_service()
    slack.fail("channel_not_found", channel="CGONE")
    async with service:
        for number in range(30):
            await service.submit(event(number), ["CGONE", "C01", "C02"][number % 3])
        await service.advance(600)
    assert {p.channel for p in slack.posts} == {"C01", "C02"}
    letters = batcher.dead_letters()
    assert {letter.error_code for letter in letters} == {"channel_not_found"}
    assert sorted(m.id for letter in letters for m in letter.messages) == [
        f"evt-{n:04d}" for n in range(0, 30, 3)
    ]
    assert batcher.get_health_status()["checks"]["delivery_auth"]["status"] == "healthy"


async def test_a_revoked_token_pauses_delivery_loses_nothing_and_resumes_when_fixed(
    clock: ManualClock, slack: FakeSlack, make_service: Factory
) -> None:
    batcher, service = make_service(auth_probe_interval_seconds=60)
    async with service:
        for number in range(40):
            await service.submit(event(number), CHANNELS[number % 4])
        await service.advance(2)
        delivered_before = len(slack.posts)
        assert delivered_before > 0
        slack.token = "xoxb-rotated"
        for number in range(40, 80):
            await service.submit(event(number), CHANNELS[number % 4])
        await service.advance(600)
        assert service.paused
        assert batcher.get_health_status()["status"] == "unhealthy"
        assert batcher.dead_letters() == []
        failed = [r for r in slack.requests if r.error == "invalid_auth"]
        assert len(failed) <= 4 + 10  # the posts in flight, then one probe a minute
        slack.token = TOKEN
        await service.advance(60)
        assert not service.paused
        await service.advance(600)
    counts = event_counts(slack.posts)
    assert sorted(counts) == [f"evt-{n:04d}" for n in range(80)]
    assert set(counts.values()) == {1}
    assert service.stats()["auth_failures"] >= 1
