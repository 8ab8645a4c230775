"""Live digests under load: backlog merged into one edit, a reply interval, a call budget.

The runtime, the real slack_sdk client and FakeSlack on the test's ManualClock; Slack calls
are counted from what FakeSlack received.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import timedelta

from slack_batcher import BatchConfig, BatchingService, ManualClock, MessageBatcher
from slack_batcher.delivery.slack import SlackSender
from slack_batcher.runtime import ServiceConfig
from slack_batcher.testing import FakeSlack
from tests.test_runtime_digests import (
    TOKEN,
    carried,
    header_count,
    item,
    storm,
    tags,
    top_level,
)


def service_for(
    clock: ManualClock, slack: FakeSlack, config: ServiceConfig, batching: BatchConfig | None = None
) -> BatchingService:
    batcher = MessageBatcher(batching, clock=clock, auto_ack=False)
    return BatchingService(batcher, SlackSender(TOKEN, base_url=slack.base_url), config=config)


def calls(slack: FakeSlack) -> int:
    """Slack calls that changed what the channel shows: posts and edits Slack accepted."""
    return sum(
        1
        for r in slack.requests
        if r.method in ("chat.postMessage", "chat.update") and r.status == 200
    )


def edits(slack: FakeSlack) -> list[timedelta]:
    times = [r.received_at for r in slack.requests if r.method == "chat.update"]
    return [later - earlier for earlier, later in itertools.pairwise(times)]


async def test_flushes_queued_behind_the_pace_join_their_digest_in_one_edit(
    clock: ManualClock, slack: FakeSlack
) -> None:
    slow = ServiceConfig(channel_posts_per_second=0.05, channel_burst=1)  # one call per 20 s
    service = service_for(clock, slack, slow)
    async with service:
        await storm(service, range(5), every=1.0)  # the first post: the digest
        await service.advance(timedelta(minutes=1))
        await storm(service, range(5, 35), every=0.1)  # 6 flushes, all due within 3 s
        await service.advance(timedelta(minutes=10))

    [parent] = top_level(slack)
    assert carried(slack, parent) == Counter(f"evt-{n:04d}" for n in range(35))
    assert header_count(parent) == 35
    updates = [r for r in slack.requests if r.method == "chat.update"]
    # The first flush is listed in the parent (a small digest), the second converts it (its
    # listing re-posted in the thread); the 4 queued behind them while they waited join in
    # one edit.
    assert len(updates) == 3
    assert service.stats()["digests"]["updates"] == 3
    # Their news is one reply listing all 20, not a page per 5 items.
    [_, merged] = slack.replies("C1", parent.ts)[-2:]
    assert Counter(tags(merged)) == Counter(f"evt-{n:04d}" for n in range(15, 35))


async def test_news_goes_to_a_digest_at_most_once_per_reply_interval(
    clock: ManualClock, slack: FakeSlack
) -> None:
    service = service_for(clock, slack, ServiceConfig(digest_reply_interval_seconds=60))
    async with service:
        await storm(service, range(60), every=5.0)  # a flush every 25 s
        await service.advance(timedelta(minutes=8))

    [parent] = top_level(slack)
    assert carried(slack, parent) == Counter(f"evt-{n:04d}" for n in range(60))
    assert header_count(parent) == 60
    assert edits(slack) and min(edits(slack)) >= timedelta(seconds=60)
    assert len(parent.history) < 11  # 11 flushes joined the digest


async def test_a_critical_item_does_not_wait_for_the_reply_interval(
    clock: ManualClock, slack: FakeSlack
) -> None:
    service = service_for(clock, slack, ServiceConfig(digest_reply_interval_seconds=60))
    async with service:
        await storm(service, range(10), every=1.0)  # a post, then an edit at ~10 s
        await service.advance(5)
        await service.submit(item(99, priority="critical"), "C1")  # flushes at once
        await service.advance(5)
        [parent] = top_level(slack)
        broadcast = [r for r in slack.replies("C1", parent.ts) if r.is_broadcast]
        assert len(broadcast) == 1  # within 5 s, not after the interval
        await service.advance(timedelta(minutes=6))


async def test_with_a_call_budget_lone_events_edit_the_parent_once_when_their_key_goes_quiet(
    clock: ManualClock, slack: FakeSlack
) -> None:
    service = service_for(
        clock, slack, ServiceConfig(digest_call_budget=True), BatchConfig(max_batch_size=1)
    )
    async with service:
        await storm(service, range(5), every=120.0)  # one event, one flush, every 2 min
        await service.advance(timedelta(minutes=2))
        [parent] = top_level(slack)
        # A small digest: each flush is one edit of the parent, which lists every event.
        assert not slack.replies("C1", parent.ts)
        assert header_count(parent) == len(parent.history) + 1 == 5
        await storm(service, range(5, 12), every=120.0)
        await service.advance(timedelta(minutes=25))  # quiet: its digest closes soon

    [parent] = top_level(slack)
    assert carried(slack, parent) == Counter(f"evt-{n:04d}" for n in range(12))
    assert header_count(parent) == 12  # caught up: the parent states the true count
    # A post and 9 edits listing 10 events; the 11th converts it (an edit, and one reply
    # listing the 11), the 12th is a reply the budget pays no edit for: its parent is
    # caught up once at the end.
    assert len(slack.replies("C1", parent.ts)) == 2
    assert calls(slack) <= 12 + 2


async def test_with_a_call_budget_a_stale_parent_is_caught_up_at_shutdown(
    clock: ManualClock, slack: FakeSlack
) -> None:
    service = service_for(
        clock, slack, ServiceConfig(digest_call_budget=True), BatchConfig(max_batch_size=1)
    )
    async with service:
        await storm(service, range(3), every=120.0)
        await service.advance(timedelta(minutes=3))

    [parent] = top_level(slack)
    assert header_count(parent) == 3
    assert carried(slack, parent) == Counter(f"evt-{n:04d}" for n in range(3))
    assert calls(slack) <= 3 + 2  # and the catch-up: an edit and the first post's re-post


async def test_with_a_call_budget_a_storm_still_ends_with_a_true_header(
    clock: ManualClock, slack: FakeSlack
) -> None:
    service = service_for(clock, slack, ServiceConfig(digest_call_budget=True))
    async with service:
        await storm(service, range(60), every=10.0)
        await service.advance(timedelta(minutes=6))

    [parent] = top_level(slack)
    assert carried(slack, parent) == Counter(f"evt-{n:04d}" for n in range(60))
    assert calls(slack) <= 60
    assert header_count(parent) >= 50  # edited as the budget allows: at least every other


async def test_with_a_call_budget_a_fast_storm_edits_its_parent_at_most_every_ten_seconds(
    clock: ManualClock, slack: FakeSlack
) -> None:
    service = service_for(
        clock, slack, ServiceConfig(digest_call_budget=True, pacing=False), BatchConfig()
    )
    async with service:
        await storm(service, range(200), every=0.2)  # a flush of 5 every second, for 40 s
        ended = clock.now()
        await service.advance(timedelta(minutes=2))

    [parent] = top_level(slack)
    assert carried(slack, parent) == Counter(f"evt-{n:04d}" for n in range(200))
    assert header_count(parent) == 200
    gaps = edits(slack)[2:]  # after the small digest's edit and its conversion
    assert gaps and min(gaps) >= timedelta(seconds=10)
    assert len(gaps) <= 5
    # The last flushes are shown in the parent when the spacing ends, not after a quiet spell.
    last = max(r.received_at for r in slack.requests if r.method == "chat.update")
    assert last - ended <= timedelta(seconds=10)
