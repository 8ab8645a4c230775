"""Pacing: how fast posts may go, per channel and for the whole workspace.

Pure and clock-driven: every method takes ``now`` and nothing sleeps here. The runtime asks
:meth:`Pacer.try_take` before each post; when it answers with a time instead of taking a
token, the runtime waits until then (by its clock) and asks again.

Slack allows about one ``chat.postMessage`` per second per channel, with short bursts, and
"several hundred per minute" per workspace. Each channel has its own token bucket
(``channel_rate`` posts per second, ``channel_burst`` at once); one workspace bucket
(``workspace_rate``, ``workspace_burst``) is shared by all channels. After a 429 the channel
is blocked until ``Retry-After`` has passed (:meth:`Pacer.block`); other channels go on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["Pacer", "PacingPolicy", "TokenBucket"]

#: Tokens short of a whole one that still count as one (float rounding of refills).
_EPSILON = 1e-9
#: Tracked idle channels past which :meth:`Pacer.try_take` forgets the ones at full burst.
_PRUNE_START = 1024


@dataclass(frozen=True, slots=True)
class PacingPolicy:
    """Posting limits; rates are posts per second, bursts are posts at once.

    ``enabled=False`` turns pacing off (Retry-After blocks still apply).
    """

    channel_rate: float = 1.0
    channel_burst: int = 3
    workspace_rate: float = 5.0
    workspace_burst: int = 30
    enabled: bool = True

    def validate(self) -> list[str]:
        """Return every problem, each naming its field; empty when valid."""
        problems = []
        for name in ("channel_rate", "workspace_rate"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or not value > 0:
                problems.append(f"{name}: must be a positive number of posts per second")
        for name in ("channel_burst", "workspace_burst"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                problems.append(f"{name}: must be a whole number of at least 1, got {value!r}")
        return problems


class TokenBucket:
    """A token bucket: ``rate`` tokens per second, holding at most ``capacity``; starts full."""

    __slots__ = ("capacity", "rate", "tokens", "updated")

    def __init__(self, rate: float, capacity: int, now: datetime) -> None:
        self.rate = rate
        self.capacity = float(capacity)
        self.tokens = float(capacity)
        self.updated = now

    def _refill(self, now: datetime) -> None:
        elapsed = (now - self.updated).total_seconds()
        if elapsed > 0:
            self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
            self.updated = now

    def ready_at(self, now: datetime) -> datetime:
        """Return when one token is available (*now* when it already is)."""
        self._refill(now)
        missing = 1.0 - self.tokens
        if missing <= _EPSILON:
            return now
        # Rounded up to the next whole microsecond (datetime's resolution), so that at the
        # answered time a whole token is there for us and for Slack's own bucket.
        micros = math.floor(missing / self.rate * 1_000_000) + 1
        return now + timedelta(microseconds=micros)

    def take(self, now: datetime) -> None:
        """Spend one token (call only when :meth:`ready_at` says *now*)."""
        self._refill(now)
        self.tokens = max(self.tokens - 1.0, -_EPSILON)

    def is_full(self, now: datetime) -> bool:
        """Return True when the bucket holds its whole burst (its state can be forgotten)."""
        self._refill(now)
        return self.tokens >= self.capacity - _EPSILON


class Pacer:
    """Per-channel and workspace-wide token buckets plus Retry-After blocks.

    Not thread-safe: the runtime uses it from its event loop only.
    """

    def __init__(self, policy: PacingPolicy | None = None) -> None:
        self.policy = policy if policy is not None else PacingPolicy()
        self._channels: dict[str, TokenBucket] = {}
        self._blocked: dict[str, datetime] = {}
        self._workspace: TokenBucket | None = None
        self._prune_at = _PRUNE_START

    def ready_at(self, channel: str, now: datetime) -> datetime:
        """Return the earliest time a post to *channel* may go (*now* or later)."""
        ready = now
        blocked = self._blocked.get(channel)
        if blocked is not None:
            if blocked > now:
                ready = blocked
            else:
                del self._blocked[channel]
        if self.policy.enabled:
            ready = max(ready, self._channel_bucket(channel, now).ready_at(now))
            ready = max(ready, self._workspace_bucket(now).ready_at(now))
        return ready

    def try_take(self, channel: str, now: datetime) -> datetime | None:
        """Spend a post for *channel* and return None, or return when to ask again."""
        ready = self.ready_at(channel, now)
        if ready > now:
            return ready
        if self.policy.enabled:
            self._channel_bucket(channel, now).take(now)
            self._workspace_bucket(now).take(now)
            if len(self._channels) > self._prune_at:
                self.prune(now)
        return None

    def block(self, channel: str, until: datetime) -> None:
        """Let no post go to *channel* before *until* (Slack's Retry-After)."""
        current = self._blocked.get(channel)
        if current is None or until > current:
            self._blocked[channel] = until

    def blocked_until(self, channel: str, now: datetime) -> datetime | None:
        """Return the end of *channel*'s Retry-After block, or None when it is not blocked."""
        until = self._blocked.get(channel)
        return until if until is not None and until > now else None

    def prune(self, now: datetime) -> int:
        """Forget channels whose bucket is full and that are not blocked; return how many."""
        idle = [
            channel
            for channel, bucket in self._channels.items()
            if bucket.is_full(now) and channel not in self._blocked
        ]
        for channel in idle:
            del self._channels[channel]
        self._prune_at = max(_PRUNE_START, 2 * len(self._channels))
        return len(idle)

    @property
    def tracked_channels(self) -> int:
        """How many channels have pacing state."""
        return len(self._channels)

    def _channel_bucket(self, channel: str, now: datetime) -> TokenBucket:
        bucket = self._channels.get(channel)
        if bucket is None:
            policy = self.policy
            bucket = self._channels[channel] = TokenBucket(
                policy.channel_rate, policy.channel_burst, now
            )
        return bucket

    def _workspace_bucket(self, now: datetime) -> TokenBucket:
        if self._workspace is None:
            policy = self.policy
            self._workspace = TokenBucket(policy.workspace_rate, policy.workspace_burst, now)
        return self._workspace
