"""Retry policy: what to do after a failed post. Pure: time and randomness are passed in.

- **Transient** errors (429, 5xx, timeouts, connection errors, ``ratelimited``, …) are
  retried with capped, jittered exponential backoff — or after exactly ``Retry-After``
  seconds when Slack said so — until the entry has been failing for ``give_up_after``
  seconds (default 6 hours); then it becomes a dead letter with the last error code.
- **Auth** errors (``invalid_auth``, ``token_revoked``, …) pause all delivery: every post
  would fail the same way, and dead-lettering everything would bury the outbox.
- **Other permanent** errors (``channel_not_found``, ``invalid_blocks``, …) dead-letter the
  entry at once, with Slack's code.
- **Maybe posted** (``internal_error``, ``fatal_error``, 5xx, timeouts, dropped
  connections): Slack may have stored the message before failing. They are transient: we
  retry them — a possible duplicate beats a lost notification — and flag the decision so
  the runtime counts a possible duplicate.

Which code is which is :mod:`slack_batcher.delivery.classify`'s to say; this module decides
*when* to try again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ..model.errors import DeliveryError, TransientDeliveryError
from .classify import is_auth_error, may_have_posted

__all__ = ["RATE_LIMIT_CODES", "RetryAction", "RetryDecision", "RetryPolicy", "error_code"]

#: Codes that mean Slack rate-limited the post (HTTP 429).
RATE_LIMIT_CODES = frozenset({"ratelimited", "rate_limited", "http_429"})


class RetryAction(StrEnum):
    """What the runtime does with the entry after a failure."""

    RETRY = "retry"
    DEAD_LETTER = "dead_letter"
    PAUSE = "pause"


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """The outcome of :meth:`RetryPolicy.decide`.

    ``delay`` is seconds until the next attempt (RETRY only); ``retry_after`` is True when
    it is Slack's Retry-After, to be honoured by the channel's pacing too; ``rate_limited``
    when Slack answered 429. ``ambiguous`` marks a failure after which Slack may have
    posted, so the retry may duplicate.
    """

    action: RetryAction
    code: str
    reason: str
    delay: float = 0.0
    retry_after: bool = False
    rate_limited: bool = False
    ambiguous: bool = False


def error_code(error: BaseException) -> str:
    """Return Slack's error code for a delivery error, or ``unexpected:<Type>`` for a bug."""
    if isinstance(error, DeliveryError):
        return error.code
    return f"unexpected:{type(error).__name__}"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Capped, jittered exponential backoff, for at most ``give_up_after`` seconds.

    Attempt *n* (1-based) waits ``min(max_delay, base_delay * multiplier ** (n - 1))``
    seconds, shortened by up to ``jitter`` of itself at random so that channels failing
    together do not retry in lock-step.
    """

    base_delay: float = 1.0
    max_delay: float = 300.0
    multiplier: float = 2.0
    jitter: float = 0.5
    give_up_after: float = 6 * 3600.0

    def validate(self) -> list[str]:
        """Return every problem, each naming its field; empty when valid."""
        problems = []
        for name in ("base_delay", "max_delay", "give_up_after"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                problems.append(f"retry_{name}: must be zero or more seconds, got {value!r}")
        if not isinstance(self.multiplier, int | float) or self.multiplier < 1:
            problems.append(f"retry_multiplier: must be at least 1, got {self.multiplier!r}")
        if not isinstance(self.jitter, int | float) or not 0 <= self.jitter <= 1:
            problems.append(f"retry_jitter: must be between 0 and 1, got {self.jitter!r}")
        return problems

    def backoff(self, attempt: int, rand: float) -> float:
        """Return seconds to wait after failed attempt number *attempt* (1-based).

        *rand* is a number in [0, 1) (``random.random()``); 0 gives the full delay.
        """
        exponent = max(attempt - 1, 0)
        # Capped before multiplying out, so attempt 10_000 does not overflow.
        delay = self.base_delay * self.multiplier ** min(exponent, 64)
        delay = min(self.max_delay, delay)
        return delay * (1.0 - self.jitter * rand)

    def decide(
        self,
        error: BaseException,
        *,
        attempts: int,
        failing_since: datetime,
        now: datetime,
        rand: float,
    ) -> RetryDecision:
        """Decide what follows *error*, the *attempts*-th failure in a row.

        *failing_since* is when the entry's first failure in the row happened; past
        ``give_up_after`` seconds from it a transient error dead-letters the entry.
        """
        code = error_code(error)
        detail = error.detail if isinstance(error, DeliveryError) else str(error)
        described = f"{code}: {detail}" if detail else code
        if is_auth_error(code):
            return RetryDecision(RetryAction.PAUSE, code, described)
        if isinstance(error, DeliveryError) and not isinstance(error, TransientDeliveryError):
            return RetryDecision(RetryAction.DEAD_LETTER, code, described)
        # Transient, or not a DeliveryError at all (a sender bug): retried, never dropped.
        retry_after = error.retry_after if isinstance(error, TransientDeliveryError) else None
        if retry_after is not None and retry_after >= 0:
            delay, honoured = float(retry_after), True
        else:
            delay, honoured = self.backoff(attempts, rand), False
        failing_for = (now - failing_since).total_seconds()
        if failing_for + delay > self.give_up_after:
            hours = failing_for / 3600
            return RetryDecision(
                RetryAction.DEAD_LETTER,
                code,
                f"gave up after {attempts} attempts over {hours:.2f} h; last error {described}",
            )
        return RetryDecision(
            RetryAction.RETRY,
            code,
            described,
            delay=delay,
            retry_after=honoured,
            rate_limited=code in RATE_LIMIT_CODES,
            ambiguous=may_have_posted(code),
        )
