"""SharedPacer: the pacing of :mod:`.pacing`, with its token buckets kept in Redis.

Several service instances posting into one channel share its bucket, so three instances
post at ``channel_rate`` together, not three times it; the workspace bucket is shared the
same way, and so is a channel's Retry-After block. Each take is one Lua script (atomic), fed
with the caller's clock: the instances' clocks should agree (NTP), a skew only shifts when a
refill counts.
"""

from __future__ import annotations

from datetime import datetime

from ..store.codec import micros, micros_time
from ..store.redis.store import RedisStore
from .pacing import Pacer, PacingPolicy

__all__ = ["SharedPacer"]


class SharedPacer(Pacer):
    """A :class:`Pacer` whose channel and workspace buckets live in a :class:`RedisStore`."""

    def __init__(self, store: RedisStore, policy: PacingPolicy | None = None) -> None:
        super().__init__(policy)
        self.store = store

    def try_take(self, channel: str, now: datetime) -> datetime | None:
        """Spend a post for *channel* and return None, or return when to ask again."""
        policy = self.policy
        ready = int(
            self.store.run(
                "pace",
                channel,
                micros(now),
                repr(float(policy.channel_rate)),
                policy.channel_burst,
                repr(float(policy.workspace_rate)),
                policy.workspace_burst,
                int(policy.enabled),
            )
        )
        if ready == 0:
            return None
        return micros_time(ready)

    def block(self, channel: str, until: datetime) -> None:
        """Let no instance post to *channel* before *until* (Slack's Retry-After)."""
        self.store.run("pace_block", channel, micros(until))
