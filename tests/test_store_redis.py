"""RedisStore beyond the shared contract: errors, key layout, isolation by prefix."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from slack_batcher import BatchConfig, ManualClock, MessageBatcher
from slack_batcher.model.errors import StoreError
from slack_batcher.store.redis.store import RedisStore
from tests.factories import T0, pr
from tests.redis_server import RedisSentinel, RedisServer, shared_server


@pytest.fixture
def private_server() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.close()


def test_an_unreachable_redis_raises_store_error_naming_the_server_without_its_password(
    private_server: RedisServer,
) -> None:
    url = f"redis://:hunter2@127.0.0.1:{private_server.port}/0"
    store = RedisStore(url, prefix="down")
    private_server.stop()

    with pytest.raises(StoreError) as caught:
        store.outbox_entries()

    assert f"127.0.0.1:{private_server.port}" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert store.ping() is False
    store.close()


def test_a_batcher_refuses_a_message_it_cannot_store_and_keeps_nothing(
    private_server: RedisServer,
) -> None:
    store = RedisStore(private_server.url, prefix="refuse")
    batcher = MessageBatcher(BatchConfig(), clock=ManualClock(T0), store=store)
    private_server.stop()

    with pytest.raises(StoreError):
        batcher.add_message(pr("gh-1"), "C1")

    assert batcher.get_batch_stats()["messages_pending"] == 0
    store.close()


def test_two_prefixes_on_one_server_never_see_each_other() -> None:
    url = shared_server().url
    clock = ManualClock(T0)
    first = MessageBatcher(clock=clock, store=RedisStore(url, prefix="iso-a"))
    first.add_message(pr("gh-1"), "C1")

    second = MessageBatcher(clock=clock, store=RedisStore(url, prefix="iso-b"))
    again = MessageBatcher(clock=clock, store=RedisStore(url, prefix="iso-a"))

    assert second.get_batch_stats()["messages_pending"] == 0
    assert again.get_batch_stats()["messages_pending"] == 1


def test_every_key_of_a_channel_carries_its_hash_tag() -> None:
    store = RedisStore(shared_server().url, prefix="tags")
    batcher = MessageBatcher(clock=ManualClock(T0), store=store, auto_ack=False)
    batcher.add_message(pr("gh-1"), "C42")
    batcher.flush_all_batches()
    batcher.add_message(pr("gh-2"), "C42")

    keys = sorted(store.client.scan_iter("tags:*"))

    channel_keys = [k for k in keys if "{C42}" in k]
    assert channel_keys, keys
    assert all(k.startswith("tags:{C42}:") for k in channel_keys)
    assert {k for k in keys if "{" not in k} <= {
        "tags:due", "tags:where", "tags:batches", "tags:outbox", "tags:ofree", "tags:order",
        "tags:pending", "tags:chans",
    }  # fmt: skip


@pytest.fixture
def sentinel() -> Iterator[RedisSentinel]:
    setup = RedisSentinel()
    yield setup
    setup.close()


def test_through_sentinel_the_store_follows_a_failover_to_the_promoted_replica(
    sentinel: RedisSentinel,
) -> None:
    clock = ManualClock(T0)
    store = RedisStore(sentinel.url, prefix="sentinel")
    batcher = MessageBatcher(clock=clock, store=store)
    batcher.add_message(pr("gh-1"), "C1")
    assert store.client.wait(1, 10_000) == 1  # replicated before the switch: nothing to lose

    sentinel.failover()
    # The old primary drops its clients when it turns replica (whenever the sentinel gets
    # to it); done here at once. The client then asks the sentinel for the primary.
    store.client.connection_pool.disconnect()
    deadline = time.monotonic() + 20
    while True:
        try:
            batcher.add_message(pr("gh-2", number=2), "C1")
            break
        except StoreError:
            assert time.monotonic() < deadline
            time.sleep(0.2)

    reopened = MessageBatcher(clock=clock, store=RedisStore(sentinel.url, prefix="sentinel"))
    assert reopened.get_batch_stats()["messages_pending"] == 2
    assert store.client.connection_pool.get_master_address()[1] == sentinel.replica.port
    reopened.close()
    batcher.close()


def test_a_retried_open_or_add_whose_reply_was_lost_does_not_store_the_message_twice() -> None:
    from tests.test_store_contract import new_batch

    store = RedisStore(shared_server().url, prefix=f"retry-{time.monotonic_ns()}")
    batch = new_batch("b1")
    store.record_open(batch, pr("gh-1"))
    store.record_open(batch, pr("gh-1"))  # the same call again
    batch.add_message(pr("gh-1"))
    store.record_add(batch, pr("gh-2", number=2))
    store.record_add(batch, pr("gh-2", number=2))

    [loaded] = store.load().batches
    assert [m.id for m in loaded.messages] == ["gh-1", "gh-2"]
