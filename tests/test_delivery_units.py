"""One delivery, one unit: ``add_unit`` keeps a webhook call's messages in one batch and flush.

Runs on every store kind with the in-process index, and on the shared Redis index
(``redis-shared``: RedisBatches, one Lua script per unit). The seed's triggers are unchanged
for messages added one at a time; a unit only moves the flush after its last message.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from slack_batcher import BatchConfig, ManualClock, MessageBatcher
from slack_batcher.core.flush import FlushReason
from slack_batcher.model.errors import InvalidMessageError
from slack_batcher.store.redis.pending import RedisBatches
from tests.conftest import STORE_KINDS, redis_store
from tests.factories import alert, pr

MakeBatcher = Callable[..., MessageBatcher]


@pytest.fixture(params=[*sorted(STORE_KINDS), "redis-shared"])
def make_batcher(
    request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock
) -> Iterator[MakeBatcher]:
    """Batchers over one store kind (in-process index), or over the shared Redis index."""
    opened: list[MessageBatcher] = []

    def make(config: BatchConfig | None = None, **kwargs: Any) -> MessageBatcher:
        kwargs.setdefault("clock", clock)
        if request.param == "redis-shared":
            store = redis_store(tmp_path)
            kwargs.setdefault("pending", RedisBatches(store, clock=clock))  # type: ignore[arg-type]
        else:
            store = STORE_KINDS[request.param](tmp_path)
        kwargs.setdefault("store", store)
        batcher = MessageBatcher(config, **kwargs)
        opened.append(batcher)
        return batcher

    yield make
    for batcher in opened:
        with contextlib.suppress(Exception):  # a test may have closed it already
            batcher.close()


def test_thirty_alerts_of_one_delivery_flush_as_one_batch_not_six(
    make_batcher: MakeBatcher,
) -> None:
    batcher = make_batcher()  # the seed's defaults: 5 items / 5 minutes
    unit = [(alert(f"a{i}", priority="medium"), "C1") for i in range(30)]

    results, error = batcher.add_unit(unit)

    assert error is None
    assert len({r.batch_id for r in results}) == 1
    flushed = [r for r in results if r.flushed is not None]
    assert len(flushed) == 1 and flushed[0] is results[-1]
    assert flushed[0].flush_reason is FlushReason.SIZE
    assert flushed[0].flushed is not None
    assert flushed[0].flushed.metadata["message_count"] == 30
    assert batcher.inspect_pending_batches()["total_batches"] == 0


def test_three_critical_alerts_of_one_delivery_make_one_urgent_flush(
    make_batcher: MakeBatcher,
) -> None:
    batcher = make_batcher()
    unit = [(alert(f"c{i}", priority="critical"), "C1") for i in range(3)]

    results, error = batcher.add_unit(unit)

    assert error is None
    flushed = [r.flushed for r in results if r.flushed is not None]
    assert len(flushed) == 1
    assert results[-1].flush_reason is FlushReason.URGENT
    assert flushed[0].metadata["message_count"] == 3


def test_a_small_unit_waits_for_its_window_like_single_messages(
    make_batcher: MakeBatcher, clock: ManualClock
) -> None:
    batcher = make_batcher()
    results, _ = batcher.add_unit([(alert("a1", priority="medium"), "C1")] * 1)
    assert results[0].flushed is None
    clock.advance(timedelta(minutes=5))
    [post] = batcher.flush_expired_batches()["C1"]
    assert post.metadata["message_count"] == 1


def test_a_unit_joins_a_pending_batch_and_flushes_it_whole(make_batcher: MakeBatcher) -> None:
    batcher = make_batcher()
    for i in range(3):
        assert batcher.add_message(alert(f"old{i}", priority="medium"), "C1") is None

    results, _ = batcher.add_unit([(alert(f"new{i}", priority="medium"), "C1") for i in range(4)])

    post = results[-1].flushed
    assert post is not None and post.metadata["message_count"] == 7


def test_an_invalid_message_in_a_unit_stores_nothing(make_batcher: MakeBatcher) -> None:
    batcher = make_batcher()
    good = alert("ok", priority="medium")

    results, error = batcher.add_unit([(good, "C1"), (good, "")])

    assert results == [] and isinstance(error, InvalidMessageError)
    assert "channel" in str(error)
    assert batcher.inspect_pending_batches()["total_batches"] == 0


def test_a_unit_across_channels_flushes_each_channel_once(make_batcher: MakeBatcher) -> None:
    batcher = make_batcher()
    unit = [(pr(f"p{i}", number=i), channel) for i in range(6) for channel in ("C1", "C2")]

    results, _ = batcher.add_unit(unit)

    posts = [r.flushed for r in results if r.flushed is not None]
    assert sorted(p.channel for p in posts if p is not None) == ["C1", "C2"]
    assert all(p is not None and p.metadata["message_count"] == 6 for p in posts)


def test_messages_added_one_by_one_still_flush_at_the_seed_size(
    make_batcher: MakeBatcher,
) -> None:
    batcher = make_batcher(BatchConfig())
    flushed = [batcher.add_message(alert(f"a{i}", priority="medium"), "C1") for i in range(5)]
    assert flushed[:4] == [None] * 4 and flushed[4] is not None
