"""One delivery, one unit, on the shared Redis index (several instances, one set of batches).

A webhook delivery's messages are placed by one Lua script (``place_unit``): they join one
batch per channel and partition, no trigger fires until all are placed, and a batch a
trigger asked for flushes once, whole, whatever another instance adds at the same time.
The placement must be the in-process core's (property-tested against a MessageBatcher on
the memory store), and two instances adding units concurrently lose nothing and split no unit.
Through two services on FakeSlack, each 30-alert notification is one whole thread reply.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slack_batcher import BatchableMessage, BatchConfig, BatchStrategy, ManualClock, MessageBatcher
from slack_batcher.core.flush import AddResult, FlushReason
from slack_batcher.store.redis.pending import RedisBatches
from slack_batcher.store.redis.store import RedisStore
from slack_batcher.testing import FakeSlack
from tests.factories import T0, alert
from tests.redis_server import shared_server
from tests.test_redis_runtime import advance_all, redis_service

Unit = list[tuple[BatchableMessage, str]]

#: The batchers a test opened: closed after it (their Redis connections with them).
_opened: list[MessageBatcher] = []


@pytest.fixture(autouse=True)
def _close_batchers() -> Iterator[None]:
    yield
    while _opened:
        _opened.pop().close()


def shared(
    config: BatchConfig | None = None, *, prefix: str, clock: ManualClock, auto_ack: bool = True
) -> MessageBatcher:
    """A batcher whose pending batches live in the shared Redis (one instance of several)."""
    store = RedisStore(shared_server().url, prefix=prefix)
    pending = RedisBatches(store, clock=clock)
    batcher = MessageBatcher(config, store=store, clock=clock, auto_ack=auto_ack, pending=pending)
    _opened.append(batcher)
    return batcher


def local(config: BatchConfig | None = None, *, clock: ManualClock) -> MessageBatcher:
    """A batcher with its pending batches in this process."""
    batcher = MessageBatcher(config, clock=clock)
    _opened.append(batcher)
    return batcher


def make(kind: str, config: BatchConfig, clock: ManualClock) -> MessageBatcher:
    if kind == "local":
        return local(config, clock=clock)
    return shared(config, prefix=f"unit-{uuid.uuid4().hex}", clock=clock)


def flushed(results: list[AddResult]) -> list[tuple[int, FlushReason | None, list[str]]]:
    """The flushes of a unit: (index of the result, reason, message ids of the post, sorted)."""
    return [
        (index, r.flush_reason, sorted(r.flushed.metadata["message_ids"]))
        for index, r in enumerate(results)
        if r.flushed is not None
    ]


def test_a_thirty_alert_delivery_on_redis_is_one_batch_and_one_flush_not_six() -> None:
    clock = ManualClock(T0)
    prefix = f"unit30-{uuid.uuid4().hex}"
    config = BatchConfig(max_batch_size=5)
    other = shared(config, prefix=prefix, clock=clock, auto_ack=False)
    batcher = shared(config, prefix=prefix, clock=clock, auto_ack=False)
    unit = [(alert(f"a{i}", priority="medium"), "C1") for i in range(30)]

    results, error = batcher.add_unit(unit)

    assert error is None
    assert len({r.batch_id for r in results}) == 1
    assert flushed(results) == [(29, FlushReason.SIZE, sorted(f"a{i}" for i in range(30)))]
    [entry] = other.pending_outbox()  # one outbox entry, seen by every instance
    assert [m.id for m in entry.messages] == [f"a{i}" for i in range(30)]
    assert other.inspect_pending_batches()["total_batches"] == 0


@pytest.mark.parametrize("kind", ["local", "shared"])
def test_a_critical_alert_in_a_delivery_flushes_the_whole_delivery_not_alone(kind: str) -> None:
    clock = ManualClock(T0)
    batcher = make(kind, BatchConfig(max_batch_size=20, urgent_priorities=["critical"]), clock)
    unit = [(alert(f"a{i}", priority="critical" if i == 3 else "medium"), "C1") for i in range(8)]

    results, error = batcher.add_unit(unit)

    assert error is None
    assert flushed(results) == [(7, FlushReason.URGENT, [f"a{i}" for i in range(8)])]
    assert batcher.inspect_pending_batches()["total_batches"] == 0


@pytest.mark.parametrize("kind", ["local", "shared"])
def test_a_delivery_joins_the_batch_another_instance_left_pending_and_flushes_it_once(
    kind: str,
) -> None:
    clock = ManualClock(T0)
    config = BatchConfig(max_batch_size=5)
    batcher = make(kind, config, clock)
    # Shared: a second instance on the same Redis left the pending batch; local: the same one.
    prefix = f"join-{uuid.uuid4().hex}"
    if kind == "shared":
        batcher, other = (shared(config, prefix=prefix, clock=clock) for _ in range(2))
    else:
        other = batcher
    for i in range(3):
        assert other.add_message(alert(f"old{i}", priority="medium"), "C1") is None

    results, _ = batcher.add_unit([(alert(f"new{i}", priority="medium"), "C1") for i in range(6)])

    ids = sorted([f"old{i}" for i in range(3)] + [f"new{i}" for i in range(6)])
    assert flushed(results) == [(5, FlushReason.SIZE, ids)]


def test_a_delivery_across_two_channels_flushes_each_channel_once_on_redis() -> None:
    clock = ManualClock(T0)
    batcher = shared(BatchConfig(max_batch_size=3), prefix=f"two-{uuid.uuid4().hex}", clock=clock)
    unit = [(alert(f"{c}-{i}", priority="medium"), c) for i in range(4) for c in ("C1", "C2")]

    results, _ = batcher.add_unit(unit)

    assert flushed(results) == [
        (6, FlushReason.SIZE, [f"C1-{i}" for i in range(4)]),
        (7, FlushReason.SIZE, [f"C2-{i}" for i in range(4)]),
    ]


def test_two_instances_adding_deliveries_at_once_lose_nothing_and_split_no_delivery() -> None:
    clock = ManualClock(T0)
    prefix = f"race-{uuid.uuid4().hex}"
    config = BatchConfig(max_batch_size=5, urgent_priorities=["critical"])
    batchers = [shared(config, prefix=prefix, clock=clock, auto_ack=False) for _ in range(2)]
    # Sizes 1..8: small deliveries share a batch, large ones fill theirs past max_batch_size.
    units: list[list[Unit]] = [
        [
            [
                (alert(f"t{t}-u{u}-{i}", priority="critical" if u % 7 == i else "medium"), "C1")
                for i in range(1 + (u + t) % 8)
            ]
            for u in range(40)
        ]
        for t in range(2)
    ]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run(index: int) -> None:
        try:
            start.wait()
            for unit in units[index]:
                _, error = batchers[index].add_unit(unit)
                assert error is None
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    clock.advance(timedelta(minutes=10))
    for batcher in batchers:
        batcher.flush_expired_batches()

    assert errors == []
    entries = batchers[0].pending_outbox()
    posted = Counter(m.id for e in entries for m in e.messages)
    sent = [m.id for per_thread in units for unit in per_thread for m, _ in unit]
    assert sorted(posted) == sorted(sent)
    assert set(posted.values()) == {1}
    entry_of = {m.id: e.id for e in entries for m in e.messages}
    for unit in (unit for per_thread in units for unit in per_thread):
        assert len({entry_of[m.id] for m, _ in unit}) == 1, [m.id for m, _ in unit]
    assert batchers[1].get_batch_stats()["messages_pending"] == 0


messages = st.builds(
    BatchableMessage,
    id=st.sampled_from([f"m{i}" for i in range(20)]),
    content_type=st.sampled_from(["pr_update", "jira_update", "alert", "deployment"]),
    timestamp=st.just(T0),
    author=st.sampled_from([None, "alice", "bob"]),
    priority=st.sampled_from(["critical", "medium", "low"]),
    data=st.fixed_dictionaries({"repository": st.sampled_from(["acme/api", "acme/web", ""])}),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    units=st.lists(
        st.lists(st.tuples(messages, st.sampled_from(["C1", "C2"])), min_size=1, max_size=8),
        max_size=6,
    ),
    strategies=st.sets(st.sampled_from(list(BatchStrategy)), min_size=1),
    threshold=st.sampled_from([0.0, 0.3, 0.6, 0.7, 1.0]),
    size=st.integers(min_value=2, max_value=6),
    window=st.sampled_from(["fixed", "sliding"]),
    leading=st.booleans(),
    enabled=st.sampled_from([True, True, True, False]),
    gaps=st.lists(st.sampled_from([1, 30, 200, 400]), min_size=6, max_size=6),
)
def test_redis_places_and_flushes_each_delivery_as_the_python_core_does(
    units: list[Unit],
    strategies: set[BatchStrategy],
    threshold: float,
    size: int,
    window: str,
    leading: bool,
    enabled: bool,
    gaps: list[int],
) -> None:
    config = BatchConfig(
        max_batch_size=size,
        similarity_threshold=threshold,
        strategies=sorted(strategies),
        urgent_priorities=["critical"],
        window=window,
        flush_leading=leading,
        enabled=enabled,
    )
    clock = ManualClock(T0)
    batchers = {"local": local(config, clock=clock), "redis": make("shared", config, clock)}
    for unit, gap in zip(units, gaps, strict=False):
        clock.advance(timedelta(seconds=gap))
        outcomes = []
        for batcher in batchers.values():
            results, error = batcher.add_unit(unit)
            assert error is None
            members: dict[str, list[str]] = {}
            for (message, _), result in zip(unit, results, strict=True):
                if not result.duplicate:
                    members.setdefault(result.batch_id, []).append(message.id)
            outcomes.append(
                (
                    [(r.duplicate, members.get(r.batch_id)) for r in results],
                    flushed(results),
                )
            )
        assert outcomes[0] == outcomes[1], unit

    def pending(batcher: MessageBatcher) -> list[tuple[str, list[str], str]]:
        view = batcher.inspect_pending_batches()["channels"]
        return sorted(
            (cid, [item["id"] for item in batch["items"]], batch["due_at"])
            for cid, channel in view.items()
            for batch in channel["batches"]
        )

    assert pending(batchers["local"]) == pending(batchers["redis"])


def firing(fingerprint: str, instance: str) -> BatchableMessage:
    """One firing alert of an Alertmanager notification, as the adapter makes it."""
    return BatchableMessage(
        id=f"am:{fingerprint}:firing",
        content_type="alert",
        timestamp=T0,
        priority="medium",
        data={
            "alertname": "HighErrorRate",
            "service": "api",
            "instance": instance,
            "fingerprint": fingerprint,
            "severity": "warning",
            "status": "firing",
        },
    )


async def test_two_services_on_one_redis_post_each_thirty_alert_notification_once(
    clock: ManualClock, slack: FakeSlack
) -> None:
    prefix = f"svc-{uuid.uuid4().hex}"
    config = BatchConfig(max_batch_size=5)
    services = [redis_service(slack, clock, prefix, config=config) for _ in range(2)]
    async with services[0], services[1]:
        for n, service in enumerate(services):
            unit = [(firing(f"fp{n}-{i}", f"api-{i:02d}"), "C1") for i in range(30)]
            results, error = await service.submit_many(unit, unit=True)
            assert error is None and len(results) == 30
        await advance_all(services, 60, step=1.0)
        assert services[0].batcher.outbox.size() == 0
    # One live digest: its parent, and one thread reply listing both notifications, whole
    # (the second converts it: the first post's 30 alerts and its own in one message).
    [parent] = [p for p in slack.posts if p.thread_ts is None]
    replies = [p for p in slack.posts if p.thread_ts is not None]
    assert parent.text.startswith("60 alerts in api")
    assert [r.text.split("\n")[0] for r in replies] == ["60 alerts in api"]
