"""RecordingSender: remembers the last posts a sender made, for the dashboard."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from ..clock import Clock, SystemClock
from ..delivery.base import PostResult, Sender
from ..formatting.message import SlackMessage

__all__ = ["RecentPost", "RecordingSender"]


@dataclass(frozen=True, slots=True)
class RecentPost:
    """One page that reached the sender: where, when, and Slack's ``ts`` for it."""

    channel: str
    message: SlackMessage
    posted_at: datetime
    ts: str | None
    thread_ts: str | None


class RecordingSender:
    """Wraps a :class:`Sender` and keeps its last *limit* successful posts, newest first."""

    def __init__(self, inner: Sender, *, limit: int = 50, clock: Clock | None = None) -> None:
        self.inner = inner
        self.supports_threads = inner.supports_threads
        self._clock = clock if clock is not None else SystemClock()
        self._posts: deque[RecentPost] = deque(maxlen=limit)
        self._lock = threading.Lock()

    async def post(
        self, message: SlackMessage, *, channel: str, thread_ts: str | None = None
    ) -> PostResult:
        """Post through the wrapped sender and remember the post if it succeeded."""
        result = await self.inner.post(message, channel=channel, thread_ts=thread_ts)
        post = RecentPost(channel, message, self._clock.now(), result.ts, thread_ts)
        with self._lock:
            self._posts.appendleft(post)
        return result

    async def close(self) -> None:
        """Close the wrapped sender."""
        await self.inner.close()

    def recent(self) -> list[RecentPost]:
        """Return the remembered posts, newest first."""
        with self._lock:
            return list(self._posts)
