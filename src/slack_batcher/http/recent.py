"""RecordingSender: remembers the last posts a sender made, for the dashboard."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, replace
from datetime import datetime

from ..delivery.base import PostResult, Sender, can_update
from ..formatting.message import SlackMessage
from ..model.clock import Clock, SystemClock

__all__ = ["RecentPost", "RecordingSender"]


@dataclass(frozen=True, slots=True)
class RecentPost:
    """One page that reached the sender: where, when, and Slack's ``ts`` for it."""

    channel: str
    message: SlackMessage
    posted_at: datetime
    ts: str | None
    thread_ts: str | None
    #: How many times the message was edited since (its ``message`` is the latest version).
    edits: int = 0


class RecordingSender:
    """Wraps a :class:`Sender` and keeps its last *limit* successful posts, newest first.

    When the wrapped sender can edit messages (``update``), so can this one: an edit
    replaces the remembered post's message with the new version.
    """

    def __init__(self, inner: Sender, *, limit: int = 50, clock: Clock | None = None) -> None:
        self.inner = inner
        self.supports_threads = inner.supports_threads
        self.supports_updates = can_update(inner)
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

    async def update(self, message: SlackMessage, *, channel: str, ts: str) -> PostResult:
        """Edit through the wrapped sender; the remembered post shows the new version."""
        update = getattr(self.inner, "update", None)
        if not self.supports_updates or update is None:
            raise TypeError(f"{self.inner!r} cannot edit messages")
        result: PostResult = await update(message, channel=channel, ts=ts)
        with self._lock:
            for index, post in enumerate(self._posts):
                if post.ts == ts and post.channel == channel:
                    self._posts[index] = replace(post, message=message, edits=post.edits + 1)
                    break
        return result

    async def close(self) -> None:
        """Close the wrapped sender."""
        await self.inner.close()

    def recent(self) -> list[RecentPost]:
        """Return the remembered posts, newest first."""
        with self._lock:
            return list(self._posts)
