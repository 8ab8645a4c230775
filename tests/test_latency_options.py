"""Latency options beyond the seed: flush_leading and the sliding window with a cap."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slack_batcher import BatchConfig, ConfigError, ManualClock, MessageBatcher
from slack_batcher.core.flush import FlushReason
from tests.factories import alert


def minutes(clock: ManualClock, n: float) -> None:
    clock.advance(timedelta(minutes=n))


def test_by_default_the_first_message_waits_for_its_window(clock: ManualClock) -> None:
    batcher = MessageBatcher(clock=clock)

    assert batcher.add(alert("a1")).flushed is None


def test_flush_leading_posts_the_first_message_of_a_quiet_key_at_once(clock: ManualClock) -> None:
    batcher = MessageBatcher(BatchConfig(flush_leading=True), clock=clock)

    first = batcher.add(alert("a1"), "C1")
    minutes(clock, 1)
    second = batcher.add(alert("a2"), "C1")
    other_key = batcher.add(alert("d1", service="db"), "C1")

    assert first.flush_reason is FlushReason.LEADING
    assert first.flushed is not None and first.flushed.metadata["message_count"] == 1
    assert second.flushed is None  # the key is busy now: it batches
    assert other_key.flush_reason is FlushReason.LEADING
    minutes(clock, 5)
    assert [len(v) for v in batcher.flush_expired_batches().values()] == [1]
    minutes(clock, 5)  # quiet for a whole window: the next one leads again
    assert batcher.add(alert("a3"), "C1").flush_reason is FlushReason.LEADING


def test_flush_leading_can_be_set_for_one_channel(clock: ManualClock) -> None:
    batcher = MessageBatcher(clock=clock)
    batcher.configure_channel("C-ONCALL", BatchConfig(flush_leading=True))

    assert batcher.add(alert("a1"), "C-ONCALL").flushed is not None
    assert batcher.add(alert("a2"), "C-OTHER").flushed is None


def test_a_sliding_window_moves_with_each_message(clock: ManualClock) -> None:
    batcher = MessageBatcher(BatchConfig(window="sliding", max_batch_size=100), clock=clock)
    for number in range(3):  # at 0, 3 and 6 minutes: due at 11
        batcher.add(alert(f"a{number}"), "C1")
        minutes(clock, 3)

    assert batcher.next_due_at() is not None
    minutes(clock, 1)  # 10 minutes: a fixed window would have closed at 5
    assert batcher.flush_expired_batches() == {}
    minutes(clock, 1)
    assert [len(v) for v in batcher.flush_expired_batches().values()] == [1]


def test_a_sliding_window_never_runs_past_its_cap(clock: ManualClock) -> None:
    config = BatchConfig(window="sliding", max_wait_minutes=15, max_batch_size=100)
    batcher = MessageBatcher(config, clock=clock)
    opened = clock.now()
    flushed_at = None
    for number in range(12):  # a message every 2 minutes, for 24 minutes
        batcher.add(alert(f"a{number}"), "C1")
        minutes(clock, 2)
        if batcher.flush_expired_batches() and flushed_at is None:
            flushed_at = clock.now()

    assert flushed_at == opened + timedelta(minutes=16)  # checked every 2 minutes


def test_bad_latency_settings_are_refused_naming_the_field() -> None:
    with pytest.raises(ConfigError, match="window"):
        BatchConfig(window="tumbling").ensure_valid()
    with pytest.raises(ConfigError, match="max_wait_minutes"):
        BatchConfig(window="sliding", max_wait_minutes=2).ensure_valid()
    with pytest.raises(ConfigError, match="flush_leading"):
        BatchConfig.from_dict({"flush_leading": "yes"})


@given(st.lists(st.floats(0.1, 8), min_size=1, max_size=30), st.integers(5, 30))
@settings(max_examples=60, deadline=None)
def test_a_sliding_batch_is_due_a_window_after_its_last_message_or_at_its_cap(
    gaps: list[float], cap: int
) -> None:
    from datetime import UTC, datetime

    clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    config = BatchConfig(window="sliding", max_wait_minutes=cap, max_batch_size=1000)
    batcher = MessageBatcher(config, clock=clock)
    opened = clock.now()
    last = opened
    for number, gap in enumerate(gaps):
        if batcher.get_batch_stats()["batches_pending"] == 0:
            opened = clock.now()
        batcher.add(alert(f"a{number}"), "C1")
        last = clock.now()
        due = batcher.next_due_at()
        expected = min(last + timedelta(minutes=5), opened + timedelta(minutes=cap))
        assert due == expected
        clock.advance(timedelta(minutes=gap))
        batcher.flush_expired_batches()


def test_a_route_sets_digest_and_latency_options_for_its_channels() -> None:
    from slack_batcher.routing.table import parse_routes

    table = parse_routes(
        [
            {"source": "alertmanager", "channel": "#oncall", "digest_by": ["alertname"]},
            {"channel": "#misc", "flush_leading": True, "window": "sliding"},
        ]
    )
    configs = table.channel_configs(BatchConfig())

    assert configs["#oncall"].digest_by == ["alertname"]
    assert (configs["#misc"].flush_leading, configs["#misc"].window) == (True, "sliding")
    with pytest.raises(ConfigError, match=r"routes\[0\]\.window"):
        parse_routes([{"channel": "#x", "window": "tumbling"}])
