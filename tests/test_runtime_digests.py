"""Live digests end to end: the runtime, the real slack_sdk client and FakeSlack.

A storm becomes one top-level post per digest key, kept current with chat.update; each
item is carried once by the digest's thread (or by the parent while it has no replies);
the parent's header counts them all. FakeSlack shares the test's ManualClock.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slack_batcher import (
    BatchableMessage,
    BatchConfig,
    BatchingService,
    ContentType,
    ManualClock,
    MemoryStore,
    MessageBatcher,
    SQLiteStore,
)
from slack_batcher.delivery import WebhookSender
from slack_batcher.delivery.slack import SlackSender
from slack_batcher.store import BatchStore
from slack_batcher.testing import FakeSlack, Post

TOKEN = "xoxb-fake-token"
TAG = re.compile(r"evt-\d{4,}")
Factory = Callable[..., tuple[MessageBatcher, BatchingService]]


def item(
    number: int,
    *,
    service: str = "api",
    priority: str = "high",
    status: str = "firing",
    name: str | None = None,
) -> BatchableMessage:
    """Alert *number*: its name carries a unique tag, so each item can be found in posts."""
    tag = f"evt-{number:04d}"
    return BatchableMessage(
        id=tag,
        content_type=ContentType.ALERT,
        priority=priority,
        data={
            "alertname": name or f"Alert {tag}",
            "service": service,
            "severity": "warning",
            "status": status,
            "instance": f"{service}-{number % 5}",
        },
    )


def tags(post: Post) -> set[str]:
    return set(TAG.findall(json.dumps(post.blocks)))


def top_level(slack: FakeSlack, channel: str = "C1") -> list[Post]:
    return [p for p in slack.posts_in(channel) if not p.is_reply]


def carried(slack: FakeSlack, parent: Post) -> Counter[str]:
    """Items a digest carries: its replies, and the parent itself until it became a summary.

    A digest with no thread is small: its parent lists every item (edited in place).
    """
    posts = slack.replies(parent.channel, parent.ts)
    if not parent.history or not posts:
        posts = [parent, *posts]
    return Counter(tag for post in posts for tag in tags(post))


def header_count(post: Post) -> int:
    return int(post.blocks[0]["text"]["text"].split()[0])


@pytest.fixture
def make_service(clock: ManualClock, slack: FakeSlack) -> Factory:
    def make(
        config: BatchConfig | None = None, store: BatchStore | None = None
    ) -> tuple[MessageBatcher, BatchingService]:
        batcher = MessageBatcher(config, clock=clock, store=store or MemoryStore(), auto_ack=False)
        sender = SlackSender(TOKEN, base_url=slack.base_url)
        return batcher, BatchingService(batcher, sender)

    return make


async def storm(
    service: BatchingService,
    numbers: range,
    *,
    every: float = 10.0,
    channel: str = "C1",
    **fields: Any,
) -> None:
    for number in numbers:
        await service.submit(item(number, **fields), channel)
        await service.advance(every)


async def test_a_storm_is_one_top_level_post_whose_thread_carries_every_item_once(
    slack: FakeSlack, make_service: Factory
) -> None:
    _, service = make_service()
    async with service:
        await storm(service, range(60))  # 60 alerts in 10 minutes
        await service.advance(timedelta(minutes=6))

    [parent] = top_level(slack)
    assert carried(slack, parent) == Counter(f"evt-{n:04d}" for n in range(60))
    assert header_count(parent) == 60
    replies = slack.replies("C1", parent.ts)
    # The second batch is listed in the parent (a small digest); the third converts it: one
    # reply lists the first 15; then one reply per flushed batch of five.
    assert len(replies) == 1 + 9
    assert replies[0].text.startswith("15 updates in api")
    assert len(parent.history) == 11
    assert parent.blocks[-1]["elements"][0]["text"] == "…50 more in thread"
    assert f"{len(replies)} replies in thread" in parent.blocks[1]["elements"][0]["text"]
    assert service.stats()["digests"] == {"started": 1, "updates": 11, "restarted": 0}


async def test_each_digest_key_gets_its_own_post(slack: FakeSlack, make_service: Factory) -> None:
    _, service = make_service()
    async with service:
        for number in range(40):
            await service.submit(item(number, service="api" if number % 2 else "db"), "C1")
            await service.advance(10)
        await service.advance(timedelta(minutes=6))

    parents = top_level(slack)
    assert sorted(p.blocks[0]["text"]["text"] for p in parents) == [
        "20 alerts in api",
        "20 alerts in db",
    ]
    for parent in parents:
        assert set(carried(slack, parent).values()) == {1}


async def test_one_digest_per_channel_with_a_section_per_scope_when_digest_by_is_empty(
    slack: FakeSlack, make_service: Factory
) -> None:
    batcher, service = make_service()
    batcher.configure_channel("C1", BatchConfig(digest_by=[]))
    async with service:
        for number in range(20):
            await service.submit(item(number, service="api" if number % 2 else "db"), "C1")
            await service.advance(10)
        await service.advance(timedelta(minutes=6))

    [parent] = top_level(slack)
    assert header_count(parent) == 20
    titles = [b["text"]["text"].splitlines()[0] for b in parent.blocks if b["type"] == "section"]
    assert sorted(titles) == ["*api*", "*db*"]


async def test_a_quiet_window_ends_the_digest_and_the_next_flush_starts_a_new_one(
    slack: FakeSlack, make_service: Factory
) -> None:
    _, service = make_service()
    async with service:
        await storm(service, range(10))
        await service.advance(timedelta(minutes=31))
        await storm(service, range(10, 15))
        await service.advance(timedelta(minutes=6))

    assert len(top_level(slack)) == 2


async def test_a_digest_older_than_its_max_age_takes_no_more_flushes(
    slack: FakeSlack, make_service: Factory
) -> None:
    _, service = make_service(BatchConfig(digest_max_age_minutes=10))
    async with service:
        await storm(service, range(40), every=30)  # 20 minutes of alerts
        await service.advance(timedelta(minutes=6))

    first, second = top_level(slack)
    assert header_count(first) + header_count(second) == 40
    assert (second.received_at - first.received_at) >= timedelta(minutes=10)


async def test_a_critical_item_is_broadcast_to_the_channel_from_the_thread(
    slack: FakeSlack, make_service: Factory
) -> None:
    _, service = make_service()
    async with service:
        await storm(service, range(5))
        await service.advance(timedelta(minutes=1))
        await service.submit(item(99, priority="critical"), "C1")
        await service.advance(timedelta(minutes=6))

    [parent] = top_level(slack)
    replies = slack.replies("C1", parent.ts)
    assert [tags(r) for r in replies if r.is_broadcast] == [{"evt-0099"}]
    assert "CRITICAL" in parent.text or ":red_circle:" in json.dumps(parent.blocks)


@pytest.mark.parametrize("how", ["deleted", "cant_update_message", "edit_window_closed"])
async def test_a_refused_edit_starts_a_new_digest_and_loses_nothing(
    slack: FakeSlack, make_service: Factory, how: str
) -> None:
    _, service = make_service()
    async with service:
        await storm(service, range(5))
        await service.advance(timedelta(minutes=1))
        [first] = top_level(slack)
        if how == "deleted":
            slack.delete_message("C1", first.ts)
        else:
            slack.fail(how, method="chat.update", times=1)
        await storm(service, range(5, 10))
        await service.advance(timedelta(minutes=6))

    parents = top_level(slack)
    everything = Counter[str]()
    for parent in [*parents, *slack.deleted]:
        everything += carried(slack, parent)
    assert set(everything) == {f"evt-{n:04d}" for n in range(10)}
    assert service.stats()["digests"]["restarted"] == 1
    assert service.stats()["dead_letters"] == 0


@pytest.mark.parametrize("refused_at", [1, 2])  # the first edit of a digest, or a later one
async def test_an_edit_refused_for_good_shows_every_alert_once(
    slack: FakeSlack, make_service: Factory, refused_at: int
) -> None:
    _, service = make_service()
    async with service:
        for flush in range(3):
            if flush == refused_at:
                slack.fail("cant_update_message", method="chat.update", times=1)
            await storm(service, range(5 * flush, 5 * flush + 5))
            await service.advance(timedelta(minutes=1))
        await service.advance(timedelta(minutes=6))

    # Every alert is in exactly one place people read: a post not (yet) turned into a
    # summary, or a thread reply; none was re-posted into a thread whose parent still shows it.
    everything = Counter[str]()
    for parent in top_level(slack):
        everything += carried(slack, parent)
    assert everything == Counter(f"evt-{n:04d}" for n in range(15))
    assert len(top_level(slack)) == 2
    assert service.stats()["digests"]["restarted"] == 1
    assert service.stats()["possible_duplicates"] == 0


async def test_a_rate_limited_edit_is_retried_into_the_same_digest(
    slack: FakeSlack, make_service: Factory
) -> None:
    _, service = make_service()
    async with service:
        await storm(service, range(5))
        slack.fail("ratelimited", method="chat.update", retry_after=20, times=1)
        await storm(service, range(5, 10))
        await service.advance(timedelta(minutes=6))

    [parent] = top_level(slack)
    assert header_count(parent) == 10
    edits = [r for r in slack.requests if r.method == "chat.update"]
    assert [r.status for r in edits] == [429, 200]
    assert (edits[1].received_at - edits[0].received_at) >= timedelta(seconds=20)


async def test_a_restart_mid_storm_keeps_editing_the_same_post(
    slack: FakeSlack, make_service: Factory, tmp_path: Path
) -> None:
    path = tmp_path / "store.db"
    batcher, service = make_service(store=SQLiteStore(path))
    async with service:
        await storm(service, range(20))
    batcher.close()

    batcher, service = make_service(store=SQLiteStore(path))
    async with service:
        await storm(service, range(20, 40))
        await service.advance(timedelta(minutes=6))
    batcher.close()

    [parent] = top_level(slack)
    assert header_count(parent) == 40
    assert carried(slack, parent) == Counter(f"evt-{n:04d}" for n in range(40))


async def test_an_entry_saved_mid_digest_by_an_earlier_version_still_delivers(
    clock: ManualClock, slack: FakeSlack, make_service: Factory, tmp_path: Path
) -> None:
    path = tmp_path / "store.db"
    batcher, service = make_service(store=SQLiteStore(path))
    async with service:
        await storm(service, range(5))  # the first post: the digest of alert:api
    batcher.close()
    [first] = top_level(slack)

    flushing = MessageBatcher(clock=clock, store=SQLiteStore(path), auto_ack=False)
    for number in range(5, 10):  # the next batch, flushed into the outbox but not delivered
        flushing.add(item(number), "C1")
    [entry] = flushing.pending_outbox()
    flushing.close()
    # Its progress as version 0.x wrote it: an untyped dict, killed while re-posting.
    old = {"digest": {"key": "C1\x1falert:api", "parent": first.ts, "step": "convert"}}
    old["attempting"] = "convert"
    with sqlite3.connect(path) as db:
        db.execute("UPDATE outbox SET state = ? WHERE id = ?", (json.dumps(old), entry.id))

    batcher, service = make_service(store=SQLiteStore(path))
    async with service:
        await service.advance(timedelta(minutes=6))
    batcher.close()

    [parent] = top_level(slack)
    assert parent.ts == first.ts
    assert header_count(parent) == 10
    assert carried(slack, parent) == Counter(f"evt-{n:04d}" for n in range(10))
    assert service.stats()["recovered"] == 1
    assert service.stats()["possible_duplicates"] == 1  # the re-post may have been made


async def test_the_summary_after_a_restart_reads_as_one_rendered_from_every_item(
    slack: FakeSlack, make_service: Factory, tmp_path: Path
) -> None:
    from slack_batcher.formatting.digest_summary import format_digest_summary

    path = tmp_path / "store.db"
    sent: list[BatchableMessage] = []

    async def alerts(service: BatchingService, numbers: range, status: str) -> None:
        for number in numbers:
            message = item(number, name="HighErrorRate", status=status)
            sent.append(message)
            await service.submit(message, "C1")
            await service.advance(10.0)

    batcher, service = make_service(store=SQLiteStore(path))
    async with service:
        await alerts(service, range(30), "firing")
    batcher.close()

    batcher, service = make_service(store=SQLiteStore(path))  # the running summary is rebuilt
    async with service:
        await alerts(service, range(30, 45), "resolved")
        await service.advance(timedelta(minutes=6))
    batcher.close()

    [parent] = top_level(slack)
    expected = format_digest_summary(
        sorted(sent, key=lambda m: m.timestamp),
        replies=len(slack.replies("C1", parent.ts)),
        channel="C1",
    )
    assert parent.blocks == expected.blocks
    assert "firing → resolved" in json.dumps(parent.blocks, ensure_ascii=False)


async def test_without_an_editing_sender_every_flush_is_a_post_as_before(
    clock: ManualClock, slack: FakeSlack
) -> None:
    batcher = MessageBatcher(clock=clock, auto_ack=False)
    service = BatchingService(batcher, WebhookSender(slack.webhook_url("C1")))
    async with service:
        await storm(service, range(20))
        await service.advance(timedelta(minutes=6))

    assert len(top_level(slack)) == 4
    assert not [r for r in slack.requests if r.method == "chat.update"]


async def test_live_digests_can_be_turned_off(slack: FakeSlack, make_service: Factory) -> None:
    _, service = make_service(BatchConfig(live_digests=False))
    async with service:
        await storm(service, range(20))
        await service.advance(timedelta(minutes=6))

    assert len(top_level(slack)) == 4


# -- the property: whatever the interleaving, each accepted item is carried exactly once ----

arrivals = st.lists(
    st.tuples(
        st.sampled_from(["api", "db", "web"]),
        st.sampled_from(["critical", "high", "low"]),
        st.floats(0, 400),
    ),
    min_size=1,
    max_size=40,
)


@given(arrivals)
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
async def test_every_accepted_item_is_carried_exactly_once_by_one_digest(
    clock: ManualClock, slack: FakeSlack, plan: list[tuple[str, str, float]]
) -> None:
    slack.reset()
    batcher = MessageBatcher(clock=clock, auto_ack=False)
    service = BatchingService(batcher, SlackSender(TOKEN, base_url=slack.base_url))
    start = 10_000
    async with service:
        for number, (scope, priority, wait) in enumerate(plan):
            await service.submit(item(start + number, service=scope, priority=priority), "C1")
            await service.advance(wait)
        await service.advance(timedelta(minutes=6))

    total = Counter[str]()
    for parent in top_level(slack):
        mine = carried(slack, parent)
        assert header_count(parent) == sum(mine.values())
        total += mine
    assert total == Counter(f"evt-{start + n:04d}" for n in range(len(plan)))


async def test_a_custom_item_formatter_that_fails_in_the_summary_does_not_stop_the_digest(
    clock: ManualClock, slack: FakeSlack
) -> None:
    from slack_batcher import SlackMessageFormatterFactory

    calls = {"n": 0}

    def flaky(message: BatchableMessage, options: Any) -> Any:
        from slack_batcher.formatting.items import AlertFormatter

        calls["n"] += 1
        if calls["n"] > 10:  # the posts render; the summary (later) hits the failure
            raise RuntimeError("formatter bug")
        return AlertFormatter()(message, options)

    factory = SlackMessageFormatterFactory()
    factory.register_item("alert", flaky)
    batcher = MessageBatcher(formatter_factory=factory, clock=clock, auto_ack=False)
    service = BatchingService(batcher, SlackSender(TOKEN, base_url=slack.base_url))
    async with service:
        await storm(service, range(10))
        await service.advance(timedelta(minutes=6))

    [parent] = top_level(slack)
    assert header_count(parent) == 10
    assert service.stats()["dead_letters"] == 0


async def test_prometheus_counts_digests_as_the_stats_do(
    slack: FakeSlack, make_service: Factory
) -> None:
    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from slack_batcher.http.metrics import metrics_registry

    batcher, service = make_service()
    async with service:
        await storm(service, range(20))
        await service.advance(timedelta(minutes=6))
        text = generate_latest(metrics_registry(batcher)).decode()

    values = {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    assert values["slack_batcher_digests_started_total"] == 1
    assert values["slack_batcher_digest_updates_total"] == 3
    assert values["slack_batcher_digests_restarted_total"] == 0


async def test_an_item_formatter_registered_mid_digest_renders_every_item_of_the_summary(
    clock: ManualClock, slack: FakeSlack
) -> None:
    from slack_batcher import SlackMessageFormatterFactory
    from slack_batcher.formatting.items import AlertFormatter

    def renamed(message: BatchableMessage, options: Any) -> Any:
        view = AlertFormatter()(message, options)
        view.title = f"Renamed {message.id}"
        return view

    factory = SlackMessageFormatterFactory()
    batcher = MessageBatcher(formatter_factory=factory, clock=clock, auto_ack=False)
    service = BatchingService(batcher, SlackSender(TOKEN, base_url=slack.base_url))
    async with service:
        await storm(service, range(10))  # two batches: the post, then a summary of all ten
        factory.register_item("alert", renamed)
        await storm(service, range(10, 15))
        await service.advance(timedelta(minutes=6))

    [parent] = top_level(slack)
    assert header_count(parent) == 15 and len(parent.history) == 2
    summary = json.dumps(parent.blocks)
    # Ten rows shown: the first ten items, rendered again with the new formatter.
    assert all(f"Renamed evt-{n:04d}" in summary for n in range(10)), summary
