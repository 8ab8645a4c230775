"""Pacing: per-channel and workspace token buckets, Retry-After blocks (pure, clock-driven)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from slack_batcher.delivery.pacing import Pacer, PacingPolicy

T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_channel_gets_its_burst_at_once_then_one_post_per_second() -> None:
    pacer = Pacer(PacingPolicy(channel_rate=1.0, channel_burst=3, workspace_rate=100))
    assert [pacer.try_take("C1", T0) for _ in range(3)] == [None, None, None]
    ready = pacer.try_take("C1", T0)
    assert ready is not None
    assert T0 + timedelta(seconds=1) <= ready <= T0 + timedelta(seconds=1, microseconds=2)
    assert pacer.try_take("C1", ready) is None
    assert pacer.try_take("C1", ready) is not None


def test_a_busy_channel_does_not_slow_another_channel() -> None:
    pacer = Pacer(PacingPolicy(channel_rate=1.0, channel_burst=1, workspace_rate=100))
    assert pacer.try_take("C1", T0) is None
    assert pacer.try_take("C1", T0) is not None
    assert pacer.try_take("C2", T0) is None


def test_the_workspace_budget_caps_all_channels_together() -> None:
    pacer = Pacer(
        PacingPolicy(channel_rate=1, channel_burst=1, workspace_rate=2, workspace_burst=2)
    )
    assert pacer.try_take("C1", T0) is None
    assert pacer.try_take("C2", T0) is None
    ready = pacer.try_take("C3", T0)
    assert ready is not None and ready > at(0.49)
    assert pacer.try_take("C3", ready) is None


def test_retry_after_blocks_only_that_channel_until_it_passes() -> None:
    pacer = Pacer(PacingPolicy(channel_burst=5, workspace_rate=100))
    pacer.block("C1", at(30))
    assert pacer.try_take("C1", at(1)) == at(30)
    assert pacer.blocked_until("C1", at(1)) == at(30)
    assert pacer.try_take("C2", at(1)) is None
    assert pacer.try_take("C1", at(30)) is None
    assert pacer.blocked_until("C1", at(30)) is None


def test_retry_after_applies_even_with_pacing_off() -> None:
    pacer = Pacer(PacingPolicy(enabled=False))
    assert all(pacer.try_take("C1", T0) is None for _ in range(100))
    pacer.block("C1", at(5))
    assert pacer.try_take("C1", at(4.9)) == at(5)


def test_idle_channels_are_forgotten_so_state_does_not_grow_forever() -> None:
    pacer = Pacer(PacingPolicy(workspace_rate=1e6, workspace_burst=10**6))
    for round_ in range(4):
        for index in range(5000):
            pacer.try_take(f"C{round_}-{index}", at(60 * round_))
    assert pacer.tracked_channels < 12_000  # not 20_000: earlier rounds were forgotten
    pacer.prune(at(600))
    assert pacer.tracked_channels == 0


def test_invalid_limits_are_named() -> None:
    problems = PacingPolicy(channel_rate=0, channel_burst=0).validate()
    assert any(p.startswith("channel_rate:") for p in problems)
    assert any(p.startswith("channel_burst:") for p in problems)


@settings(max_examples=200, deadline=None)
@given(
    gaps=st.lists(st.floats(min_value=0, max_value=3, allow_nan=False), max_size=60),
    rate=st.sampled_from([0.5, 1.0, 2.0]),
    burst=st.integers(min_value=1, max_value=4),
)
def test_posts_in_any_window_never_exceed_burst_plus_rate_times_length(
    gaps: list[float], rate: float, burst: int
) -> None:
    pacer = Pacer(PacingPolicy(channel_rate=rate, channel_burst=burst, workspace_rate=1e6))
    now, taken = T0, []
    for gap in gaps:
        now += timedelta(seconds=gap)
        ready = pacer.try_take("C1", now)
        while ready is not None:  # a well-behaved caller waits until the answered time
            now = ready
            ready = pacer.try_take("C1", now)
        taken.append(now)
    for i, start in enumerate(taken):
        for j in range(i, len(taken)):
            length = (taken[j] - start).total_seconds()
            assert j - i + 1 <= burst + rate * length + 1e-6
