"""Retry policy: capped jittered backoff, Retry-After, giving up, dead letters and pauses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from slack_batcher import PermanentDeliveryError, TransientDeliveryError
from slack_batcher.delivery.retry import RetryAction, RetryPolicy

T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)


def decide(
    policy: RetryPolicy, error: Exception, *, attempts: int = 1, failing_for: float = 0.0
) -> object:
    return policy.decide(
        error,
        attempts=attempts,
        failing_since=T0,
        now=T0 + timedelta(seconds=failing_for),
        rand=0.0,
    )


def test_backoff_doubles_from_the_base_and_stops_at_the_cap() -> None:
    policy = RetryPolicy(base_delay=1, max_delay=60, jitter=0.5)
    assert [policy.backoff(n, 0.0) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert policy.backoff(10_000, 0.0) == 60


@pytest.mark.parametrize("rand", [0.0, 0.25, 0.5, 0.999])
def test_jitter_only_shortens_the_delay_by_at_most_its_share(rand: float) -> None:
    policy = RetryPolicy(base_delay=10, max_delay=100, jitter=0.5)
    delay = policy.backoff(3, rand)
    assert 20 <= delay <= 40


def test_rate_limit_waits_exactly_retry_after_whatever_the_jitter() -> None:
    policy = RetryPolicy(jitter=1.0)
    decision = policy.decide(
        TransientDeliveryError("ratelimited", retry_after=7),
        attempts=5,
        failing_since=T0,
        now=T0,
        rand=0.9,
    )
    assert decision.action is RetryAction.RETRY
    assert decision.delay == 7
    assert decision.retry_after and decision.rate_limited


def test_server_errors_are_retried_and_flagged_as_possibly_posted() -> None:
    decision = decide(RetryPolicy(), TransientDeliveryError("http_503"), attempts=2)
    assert decision.action is RetryAction.RETRY  # type: ignore[attr-defined]
    assert decision.delay == 2  # type: ignore[attr-defined]
    assert decision.ambiguous  # type: ignore[attr-defined]


def test_transient_errors_are_given_up_after_the_configured_time() -> None:
    policy = RetryPolicy(give_up_after=3600, max_delay=300)
    early = decide(policy, TransientDeliveryError("timeout"), attempts=20, failing_for=3000)
    late = decide(policy, TransientDeliveryError("timeout"), attempts=21, failing_for=3500)
    assert early.action is RetryAction.RETRY  # type: ignore[attr-defined]
    assert late.action is RetryAction.DEAD_LETTER  # type: ignore[attr-defined]
    assert "gave up after 21 attempts" in late.reason  # type: ignore[attr-defined]
    assert late.code == "timeout"  # type: ignore[attr-defined]


def test_the_default_keeps_retrying_for_hours_not_seconds() -> None:
    policy = RetryPolicy()
    decision = decide(policy, TransientDeliveryError("http_500"), attempts=50, failing_for=3 * 3600)
    assert decision.action is RetryAction.RETRY  # type: ignore[attr-defined]


def test_a_permanent_error_dead_letters_with_slacks_code() -> None:
    decision = decide(RetryPolicy(), PermanentDeliveryError("channel_not_found", "C0GONE"))
    assert decision.action is RetryAction.DEAD_LETTER  # type: ignore[attr-defined]
    assert decision.code == "channel_not_found"  # type: ignore[attr-defined]
    assert decision.reason == "channel_not_found: C0GONE"  # type: ignore[attr-defined]


@pytest.mark.parametrize("code", ["invalid_auth", "token_revoked", "missing_scope"])
def test_an_auth_error_pauses_instead_of_dead_lettering(code: str) -> None:
    decision = decide(RetryPolicy(), PermanentDeliveryError(code))
    assert decision.action is RetryAction.PAUSE  # type: ignore[attr-defined]


def test_an_unexpected_exception_from_a_sender_is_retried_not_dropped() -> None:
    decision = decide(RetryPolicy(), KeyError("boom"))
    assert decision.action is RetryAction.RETRY  # type: ignore[attr-defined]
    assert decision.code == "unexpected:KeyError"  # type: ignore[attr-defined]


def test_invalid_settings_are_named() -> None:
    problems = RetryPolicy(base_delay=-1, jitter=2).validate()
    assert any(p.startswith("retry_base_delay") for p in problems)
    assert any(p.startswith("retry_jitter") for p in problems)
