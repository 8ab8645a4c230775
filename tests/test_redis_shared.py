"""Several batchers sharing one Redis: the grouping decision, claims and races.

The Lua placement must decide exactly what ``grouping.py`` decides (property-tested against
a MessageBatcher on the memory store); two batchers racing on one channel never open a batch
the single-process core would not, and never lose or duplicate a message.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from slack_batcher import BatchableMessage, BatchConfig, BatchStrategy, ManualClock, MessageBatcher
from slack_batcher.store.redis.pending import RedisBatches
from slack_batcher.store.redis.store import RedisStore
from tests.factories import T0, pr
from tests.redis_server import shared_server


def shared(
    config: BatchConfig | None = None,
    *,
    prefix: str,
    clock: ManualClock,
    auto_ack: bool = True,
    **kw: float,
) -> MessageBatcher:
    """A batcher whose pending batches live in the shared Redis (one instance of several)."""
    store = RedisStore(shared_server().url, prefix=prefix)
    pending = RedisBatches(store, clock=clock, **kw)  # type: ignore[arg-type]
    batcher = MessageBatcher(config, store=store, clock=clock, auto_ack=auto_ack, pending=pending)
    _opened.append(batcher)
    return batcher


#: The batchers a test opened: closed after it (their Redis connections with them).
_opened: list[MessageBatcher] = []


@pytest.fixture(autouse=True)
def _close_batchers() -> Iterator[None]:
    yield
    while _opened:
        _opened.pop().close()


messages = st.builds(
    BatchableMessage,
    id=st.sampled_from([f"m{i}" for i in range(15)]),
    content_type=st.sampled_from(["pr_update", "jira_update", "alert", "deployment"]),
    timestamp=st.just(T0),
    author=st.sampled_from([None, "alice", "Alice", "bob"]),
    priority=st.sampled_from(["critical", "high", "medium", "low"]),
    data=st.fixed_dictionaries(
        {"repository": st.sampled_from(["acme/api", "acme/web", "ACME/api", ""])}
    ),
)


def _pr(mid: str) -> BatchableMessage:
    return BatchableMessage(
        id=mid, content_type="pr_update", timestamp=T0, author="alice", data={"repository": "a"}
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(  # a sliding window moves its due time when the second message joins
    sequence=[(_pr("m1"), "C1"), (_pr("m2"), "C1")],
    strategies={BatchStrategy.TIME_BASED, BatchStrategy.CONTENT_SIMILARITY},
    threshold=0.7,
    size=5,
    window="sliding",
    leading=True,
    gaps=[1, 30] + [1] * 23,
)
@given(
    sequence=st.lists(st.tuples(messages, st.sampled_from(["C1", "C2"])), max_size=25),
    strategies=st.sets(st.sampled_from(list(BatchStrategy)), min_size=1),
    threshold=st.sampled_from([0.0, 0.3, 0.4, 0.6, 0.7, 0.71, 1.0]),
    size=st.integers(min_value=2, max_value=6),
    window=st.sampled_from(["fixed", "sliding"]),
    leading=st.booleans(),
    gaps=st.lists(st.sampled_from([1, 30, 200, 400]), min_size=25, max_size=25),
)
def test_redis_places_every_message_where_the_python_core_does(
    sequence: list[tuple[BatchableMessage, str]],
    strategies: set[BatchStrategy],
    threshold: float,
    size: int,
    window: str,
    leading: bool,
    gaps: list[int],
) -> None:
    config = BatchConfig(
        max_batch_size=size,
        similarity_threshold=threshold,
        strategies=sorted(strategies),
        urgent_priorities=["critical"],
        window=window,
        flush_leading=leading,
    )
    clock = ManualClock(T0)
    local = MessageBatcher(config, clock=clock)
    remote = shared(config, prefix=f"prop-{uuid.uuid4().hex}", clock=clock)
    members: dict[str, dict[str, list[str]]] = {"local": {}, "redis": {}}
    for (message, channel), gap in zip(sequence, gaps, strict=False):
        clock.advance(timedelta(seconds=gap))
        outcomes = []
        for name, batcher in (("local", local), ("redis", remote)):
            result = batcher.add(message, channel)
            joined = members[name].setdefault(result.batch_id, [])
            if not result.duplicate:
                joined.append(message.id)
            outcomes.append((result.duplicate, result.flush_reason, list(joined)))
        assert outcomes[0] == outcomes[1], (message, channel)

    def pending(batcher: MessageBatcher) -> list[tuple[str, list[str], str]]:
        view = batcher.inspect_pending_batches()["channels"]
        return sorted(
            (cid, [item["id"] for item in batch["items"]], batch["due_at"])
            for cid, channel in view.items()
            for batch in channel["batches"]
        )

    assert pending(local) == pending(remote)  # due times included (sliding windows move)
    remote.close()


def test_a_size_flush_writes_one_outbox_entry_owned_by_the_flushing_instance() -> None:
    clock = ManualClock(T0)
    prefix = f"own-{uuid.uuid4().hex}"
    first = shared(BatchConfig(max_batch_size=2), prefix=prefix, clock=clock, auto_ack=False)
    second = shared(BatchConfig(max_batch_size=2), prefix=prefix, clock=clock, auto_ack=False)

    first.add(pr("gh-1"), "C1")
    result = second.add(pr("gh-2", number=43), "C1")

    assert result.flush_reason == "size"
    entries = second.pending.redis.entries_with_owner([result.batch_id])
    assert [(e.id, owner) for e, owner in entries] == [
        (result.batch_id, second.pending.instance_id)
    ]
    assert [m.id for m in entries[0][0].messages] == ["gh-1", "gh-2"]
    assert first.get_batch_stats()["messages_pending"] == 0


def test_a_due_batch_is_flushed_by_exactly_one_of_two_instances() -> None:
    clock = ManualClock(T0)
    prefix = f"due-{uuid.uuid4().hex}"
    first = shared(prefix=prefix, clock=clock, auto_ack=False)
    second = shared(prefix=prefix, clock=clock, auto_ack=False)
    first.add(pr("gh-1"), "C1")
    second.add(pr("gh-2", number=43), "C1")

    clock.advance(timedelta(minutes=5))
    flushed = [first.flush_expired_batches(), second.flush_expired_batches()]

    assert [sum(len(v) for v in f.values()) for f in flushed] == [1, 0]
    assert len(first.outbox) == 1
    assert first.pending.leases.held == {first.pending_outbox()[0].id}


def test_a_claim_whose_instance_died_comes_due_again_for_another() -> None:
    clock = ManualClock(T0)
    prefix = f"claim-{uuid.uuid4().hex}"
    dying = shared(prefix=prefix, clock=clock, claim_seconds=30)
    survivor = shared(prefix=prefix, clock=clock, auto_ack=False, claim_seconds=30)
    dying.add(pr("gh-1"), "C1")
    clock.advance(timedelta(minutes=5))
    # The dying instance claims the due batch and stops before writing its outbox entry.
    rows = dying.pending.redis.run("claim_due", 10**17, dying.pending.instance_id, 10**17 + 1, 10)
    assert len(rows) == 1
    dying.pending.redis.run(
        "claim_ids", 0, "x", 0, rows[0][0]
    )  # not claimable: claimed, not expired
    assert survivor.flush_expired_batches() == {}

    # Only once the claim has run out does the survivor take the batch.
    dying.pending.redis.client.zadd(dying.pending.redis.key("due"), {rows[0][0]: 0})
    flushed = survivor.flush_expired_batches()

    assert [m.metadata["message_ids"] for m in flushed["C1"]] == [["gh-1"]]


def test_two_batchers_racing_on_one_channel_lose_nothing_and_open_no_extra_batch() -> None:
    clock = ManualClock(T0)
    prefix = f"race-{uuid.uuid4().hex}"
    config = BatchConfig(max_batch_size=5)
    batchers = [shared(config, prefix=prefix, clock=clock, auto_ack=False) for _ in range(2)]
    per_thread = 100
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run(index: int) -> None:
        try:
            start.wait()
            for n in range(per_thread):
                batchers[index].add(pr(f"t{index}-{n}", number=n), "C1")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    entries = batchers[0].pending_outbox()
    posted = Counter(m.id for e in entries for m in e.messages)
    assert len(posted) == 2 * per_thread
    assert set(posted.values()) == {1}
    # 200 messages of one repository in batches of 5: exactly 40 batches, as one core would.
    assert [len(e.messages) for e in entries] == [5] * 40
    assert batchers[0].get_batch_stats()["messages_pending"] == 0


def test_on_equal_scores_redis_picks_the_batch_opened_first_as_the_core_does() -> None:
    config = BatchConfig(similarity_threshold=0.3, max_batch_size=10)
    clock = ManualClock(T0)
    local = MessageBatcher(config, clock=clock)
    remote = shared(config, prefix=f"tie-{uuid.uuid4().hex}", clock=clock)

    def message(mid: str, repo: str, author: str, kind: str) -> BatchableMessage:
        return BatchableMessage(
            id=mid, content_type=kind, timestamp=T0, author=author, data={"repository": repo}
        )

    first = message("a", "acme/api", "alice", "pr_update")
    second = message("b", "acme/web", "bob", "alert")
    # Shares the author with the first batch and the type with the second: 0.3 each.
    tied = message("c", "acme/ops", "alice", "alert")
    results = {}
    for name, batcher in (("local", local), ("redis", remote)):
        opened = [batcher.add(m, "C1").batch_id for m in (first, second)]
        results[name] = (opened, batcher.add(tied, "C1").batch_id)

    for opened, joined in results.values():
        assert opened[0] != opened[1]
        assert joined == opened[0]


def test_one_instance_delivers_a_channel_posts_flushed_elsewhere_reach_it_through_its_inbox() -> (
    None
):
    clock = ManualClock(T0)
    prefix = f"dlv-{uuid.uuid4().hex}"
    config = BatchConfig(max_batch_size=2)
    holder = shared(config, prefix=prefix, clock=clock, auto_ack=False)
    other = shared(config, prefix=prefix, clock=clock, auto_ack=False)
    holder.add(pr("gh-1"), "C1")
    holder.add(pr("gh-2", number=2), "C1")  # flushed: the holder now delivers C1
    received: list[str] = []
    holder.outbox.subscribe(lambda entry: received.append(entry.id))

    other.add(pr("gh-3", number=3), "C1")
    second = other.add(pr("gh-4", number=4), "C1")

    assert second.flush_reason == "size"
    assert other.pending.leases.held == set()  # flushed by `other`, delivered by the holder
    holder.flush_expired_batches()  # the holder's timer: its inbox
    assert received == [second.batch_id]
    assert holder.pending.leases.held == {e.id for e in holder.pending_outbox()}


def test_a_shared_batch_pending_past_the_stale_limit_is_dead_lettered_once() -> None:
    clock = ManualClock(T0)
    prefix = f"stale-{uuid.uuid4().hex}"
    first = shared(prefix=prefix, clock=clock)
    second = shared(prefix=prefix, clock=clock)
    first.add(pr("gh-1"), "C1")
    clock.advance(timedelta(hours=1))
    first.add(pr("gh-2", number=2, repo="acme/web", author="bob"), "C1")  # younger: stays
    clock.advance(timedelta(hours=24))

    swept = [first.cleanup_stale_batches(24.5), second.cleanup_stale_batches(24.5)]

    assert swept == [1, 0]
    [letter] = second.dead_letters("C1")
    assert [m.id for m in letter.messages] == ["gh-1"]
    assert letter.reason.startswith("stale: pending 25.0 h")
    assert second.get_batch_stats()["messages_pending"] == 1


def test_many_events_placed_in_one_round_trip_end_where_one_by_one_adds_put_them() -> None:
    clock = ManualClock(T0)
    config = BatchConfig(max_batch_size=3)
    one_by_one = shared(config, prefix=f"many1-{uuid.uuid4().hex}", clock=clock)
    pipelined = shared(config, prefix=f"many2-{uuid.uuid4().hex}", clock=clock)
    events = [(pr(f"gh-{n % 9}", number=n % 9, author=f"a{n % 2}"), f"C{n % 2}") for n in range(14)]

    expected = [one_by_one.add(m, c) for m, c in events]
    results, error = pipelined.add_many(events)

    assert error is None
    shape = [(r.duplicate, r.flush_reason, r.flushed is not None) for r in expected]
    assert [(r.duplicate, r.flush_reason, r.flushed is not None) for r in results] == shape
    assert (
        pipelined.get_batch_stats()["messages_pending"]
        == (one_by_one.get_batch_stats()["messages_pending"])
    )


def test_many_events_stop_at_the_first_invalid_one_keeping_those_before() -> None:
    batcher = shared(prefix=f"many3-{uuid.uuid4().hex}", clock=ManualClock(T0))
    events = [(pr("gh-1"), "C1"), (pr("gh-2", number=2), ""), (pr("gh-3", number=3), "C1")]

    results, error = batcher.add_many(events)

    assert [r.batch_id is not None for r in results] == [True]
    assert error is not None and "channel_id" in str(error)
    assert batcher.get_batch_stats()["messages_pending"] == 1
