"""The runtime on a shared Redis: several services, one set of batches, shared pacing,
takeover of a dead instance's posts, and what happens while Redis is unreachable.

Every service shares the test's ManualClock and FakeSlack; ``advance_all`` moves time for
all of them, wake-up by wake-up.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from slack_batcher import BatchConfig, BatchingService, ManualClock, MessageBatcher
from slack_batcher.delivery.slack import SlackSender
from slack_batcher.http import create_app
from slack_batcher.http.server import build_service
from slack_batcher.http.settings import ServiceSettings, StoreSettings
from slack_batcher.model.errors import StoreError
from slack_batcher.store.redis.pending import RedisBatches
from slack_batcher.store.redis.store import RedisStore
from slack_batcher.testing import FakeSlack
from tests.factories import pr
from tests.redis_server import RedisServer, shared_server
from tests.test_http_harness import AUTH, event, server_settings
from tests.test_runtime_slack import TOKEN, assert_paced, event_counts
from tests.test_runtime_slack import event as numbered_event


def redis_service(
    slack: FakeSlack,
    clock: ManualClock,
    prefix: str,
    url: str | None = None,
    config: BatchConfig | None = None,
    poll_seconds: float = 1.0,
) -> BatchingService:
    settings = ServiceSettings(
        batching=config or BatchConfig(),
        store=StoreSettings(
            url=url or shared_server().url, prefix=prefix, poll_seconds=poll_seconds
        ),
    )
    sender = SlackSender(TOKEN, base_url=slack.base_url)
    return build_service(settings, clock=clock, sender=sender)


async def advance_all(services: list[BatchingService], seconds: float, step: float = 0.25) -> None:
    clock = services[0].clock
    assert isinstance(clock, ManualClock)
    end = clock.now() + timedelta(seconds=seconds)
    while clock.now() < end:
        await services[0].advance(min(step, (end - clock.now()).total_seconds()))
        for service in services[1:]:
            await service.run_due()


async def test_two_instances_post_every_event_once_and_pace_each_channel_together(
    clock: ManualClock, slack: FakeSlack
) -> None:
    prefix = f"rt-{uuid.uuid4().hex}"
    config = BatchConfig(max_batch_size=4)
    # PR and JIRA updates: their items show the title, which carries the evt- tag counted.
    tagged = [4 * (n // 2) + n % 2 for n in range(240)]
    services = [redis_service(slack, clock, prefix, config=config) for _ in range(2)]
    async with services[0], services[1]:
        assert all(isinstance(s.batcher.pending, RedisBatches) for s in services)
        for n in range(240):
            await services[n % 2].submit(numbered_event(tagged[n]), f"C{n % 3}")
            if n % 30 == 29:
                await advance_all(services, 1.0)
        await advance_all(services, 600, step=1.0)
        assert services[0].batcher.outbox.size() == 0
    posts = slack.posts
    counts = event_counts(posts)
    assert sorted(counts) == [f"evt-{n:04d}" for n in tagged]
    assert set(counts.values()) == {1}
    # One bucket per channel for both instances: Slack never had to say 429.
    assert not [r for r in slack.requests if r.status == 429]
    assert_paced(posts)
    delivered = sum(s.stats()["posts"] for s in services)
    assert delivered == len(posts)


async def test_a_batch_due_before_the_next_look_at_redis_is_posted_on_time_by_its_instance(
    clock: ManualClock, slack: FakeSlack
) -> None:
    prefix = f"due-{uuid.uuid4().hex}"
    config = BatchConfig(max_batch_age_minutes=0.01)  # due 0.6 s after it opens
    services = [redis_service(slack, clock, prefix, config=config, poll_seconds=30) for _ in "ab"]
    async with services[0], services[1]:
        await advance_all(services, 5)  # both deadline timers now sleep until their next look
        await services[0].submit(pr("gh-1", number=1), "C1")
        await services[1].submit(pr("gh-2", number=2), "C2")
        await advance_all(services, 0.5, step=0.5)
        assert slack.posts == []
        await advance_all(services, 0.5, step=0.5)
        assert sorted(p.channel for p in slack.posts) == ["C1", "C2"]


async def test_a_dead_instances_post_is_taken_over_and_counted_as_a_possible_duplicate(
    clock: ManualClock, slack: FakeSlack
) -> None:
    prefix = f"take-{uuid.uuid4().hex}"
    store = RedisStore(shared_server().url, prefix=prefix)
    dead = MessageBatcher(
        store=store,
        clock=clock,
        auto_ack=False,
        pending=RedisBatches(store, clock=clock, lease_seconds=15),
    )
    for n in range(5):  # fills a batch: flushed into the outbox, owned by `dead`
        dead.add(pr(f"gh-{n}", number=n), "C1")
    [entry] = dead.pending_outbox()
    entry.state.attempting = 0  # it was posting when it died
    dead.outbox.update(entry)

    survivor = redis_service(slack, clock, prefix)
    async with survivor:
        await survivor.advance(10)
        assert slack.posts == []  # the lease still holds
        await survivor.advance(10)
        assert survivor.batcher.outbox.size() == 0

    [post] = slack.posts
    assert sorted(event_counts([post])) == []  # pr() titles carry no evt- tag
    assert "gh-" in post.text or post.blocks
    stats = survivor.stats()
    assert stats["recovered"] == 1
    assert stats["possible_duplicates"] == 1
    assert survivor.batcher.get_batch_stats()["shared"]["taken_over"] == 1


async def test_a_stopping_instance_gives_its_posts_back_at_once(
    clock: ManualClock, slack: FakeSlack
) -> None:
    prefix = f"give-{uuid.uuid4().hex}"
    store = RedisStore(shared_server().url, prefix=prefix)
    leaving = MessageBatcher(
        store=store,
        clock=clock,
        auto_ack=False,
        pending=RedisBatches(store, clock=clock, lease_seconds=600),
    )
    for n in range(5):
        leaving.add(pr(f"gh-{n}", number=n), "C1")
    leaving.close()

    survivor = redis_service(slack, clock, prefix)
    async with survivor:
        await survivor.advance(2)
    assert len(slack.posts) == 1
    assert survivor.stats()["possible_duplicates"] == 0


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.close()


async def test_while_redis_is_down_ingest_and_readyz_answer_503_and_then_recover(
    clock: ManualClock, slack: FakeSlack, private_redis: RedisServer
) -> None:
    service = redis_service(slack, clock, "down", url=private_redis.url)
    async with service:
        app = create_app(service, settings=server_settings())
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get("/readyz")).status_code == 200
            private_redis.stop()

            refused = await client.post("/v1/messages", json=event("gh-1"), headers=AUTH)
            ready = await client.get("/readyz")
            stats = (await client.get("/v1/stats", headers=AUTH)).json()

            assert refused.status_code == 503
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert ready.status_code == 503
            assert stats["shared"]["reachable"] is False
            health = await client.get("/v1/health", headers=AUTH)
            assert health.status_code == 503
            assert health.json()["checks"]["store_reachable"]["status"] == "unhealthy"
            assert stats["store"].startswith(f"redis {private_redis.url}")

            private_redis.start()  # same port: the client reconnects by itself
            accepted = await client.post("/v1/messages", json=event("gh-1"), headers=AUTH)
            assert accepted.status_code == 202
            assert (await client.get("/readyz")).status_code == 200
    service.batcher.close()


def test_two_pacers_on_one_store_share_a_channels_bucket_and_its_retry_after() -> None:
    from slack_batcher.delivery.pacing import PacingPolicy
    from slack_batcher.delivery.shared_pacing import SharedPacer
    from tests.factories import T0

    store = RedisStore(shared_server().url, prefix=f"pace-{uuid.uuid4().hex}")
    policy = PacingPolicy(channel_rate=1.0, channel_burst=2)
    first, second = SharedPacer(store, policy), SharedPacer(store, policy)

    assert first.try_take("C1", T0) is None
    assert second.try_take("C1", T0) is None
    assert second.try_take("C1", T0) == T0 + timedelta(seconds=1, microseconds=1)
    assert first.try_take("C2", T0) is None  # another channel has its own bucket

    first.block("C1", T0 + timedelta(seconds=30))
    assert second.try_take("C1", T0 + timedelta(seconds=5)) == T0 + timedelta(seconds=30)


async def test_the_dashboard_and_stats_name_the_shared_store_without_its_password(
    clock: ManualClock, slack: FakeSlack
) -> None:
    url = shared_server().url.replace("redis://", "redis://:sekrit@")  # no auth: ignored
    service = redis_service(slack, clock, "dash", url=url)
    async with service:
        app = create_app(service, settings=server_settings(token=None))
        transport = httpx.ASGITransport(app=app)
        base = "http://127.0.0.1"
        async with httpx.AsyncClient(transport=transport, base_url=base) as client:
            page = (await client.get("/?refresh=0")).text
            stats = (await client.get("/v1/stats")).json()
    service.batcher.close()
    port = shared_server().port
    assert f"redis redis://:***@127.0.0.1:{port}/0 (prefix &#x27;dash&#x27;)" in page
    assert "sekrit" not in page
    assert stats["store"].startswith(f"redis redis://:***@127.0.0.1:{port}/0 (prefix 'dash')")
    assert stats["shared"]["reachable"] is True


def test_every_store_is_named_for_the_operator(tmp_path: object) -> None:
    from pathlib import Path

    from slack_batcher import MemoryStore, SQLiteStore

    path = Path(str(tmp_path)) / "s.db"
    sqlite = SQLiteStore(path)
    try:
        assert sqlite.describe() == f"SQLiteStore {path}"
    finally:
        sqlite.close()
    assert MemoryStore().describe().startswith("MemoryStore (not durable")


def test_while_redis_is_down_the_deadline_timer_backs_off_and_resumes_when_it_is_back(
    clock: ManualClock,
) -> None:
    server = RedisServer()
    try:
        store = RedisStore(server.url, prefix="backoff")
        batcher = MessageBatcher(
            store=store, clock=clock, pending=RedisBatches(store, clock=clock, poll_seconds=1)
        )
        assert batcher.next_due_at() == clock.now() + timedelta(seconds=1)
        server.stop()
        waits = []
        for _ in range(7):
            with pytest.raises(StoreError):
                batcher.flush_expired_batches()
            waits.append((batcher.next_due_at() - clock.now()).total_seconds())  # type: ignore[operator]
        assert waits == [2, 4, 8, 16, 30, 30, 30]

        server.start()
        batcher.flush_expired_batches()
        assert batcher.next_due_at() == clock.now() + timedelta(seconds=1)
        batcher.close()
    finally:
        server.close()
