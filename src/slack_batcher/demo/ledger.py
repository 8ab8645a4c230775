"""The Slack calls a replay made: every post, thread reply and edit, in order, with its time.

:class:`CallLedger` wraps the configured sender (the runtime sees the sender's own
abilities: threads, edits) and writes down each call Slack accepted, at the simulated time
it was made. The figures a replay prints are read from it: top-level posts, replies, edits,
and when each event was first visible (the first post, reply or edit that carries its id:
a small live digest's parent is edited into the list of all its items, which carries their
ids; an edit into a digest's summary carries none).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..delivery.base import PostResult, Sender, can_update
from ..formatting.message import SlackMessage
from ..model.clock import Clock

__all__ = ["CallLedger", "SlackCall"]


@dataclass(frozen=True, slots=True)
class SlackCall:
    """One call Slack accepted: a post (``thread_ts`` None), a thread reply, or an edit."""

    method: str  # "chat.postMessage" or "chat.update"
    channel: str
    at: datetime
    message: SlackMessage
    ts: str | None
    thread_ts: str | None = None

    @property
    def is_edit(self) -> bool:
        """True for a ``chat.update``."""
        return self.method == "chat.update"

    @property
    def is_reply(self) -> bool:
        """True for a post in a thread."""
        return not self.is_edit and self.thread_ts is not None

    @property
    def is_top_level(self) -> bool:
        """True for a post people see in the channel itself."""
        return not self.is_edit and self.thread_ts is None

    @property
    def message_ids(self) -> list[str]:
        """The ids of the events this call shows (edits into a digest summary carry none)."""
        return [str(i) for i in self.message.metadata.get("message_ids", [])]


@dataclass
class CallLedger:
    """A :class:`Sender` wrapper that records every call the wrapped sender made good."""

    inner: Sender
    clock: Clock
    calls: list[SlackCall] = field(default_factory=list)
    supports_threads: bool = field(init=False)
    supports_updates: bool = field(init=False)

    def __post_init__(self) -> None:
        self.supports_threads = self.inner.supports_threads
        self.supports_updates = can_update(self.inner)

    async def post(
        self, message: SlackMessage, *, channel: str, thread_ts: str | None = None
    ) -> PostResult:
        """Post through the wrapped sender; record the post when it succeeded."""
        result = await self.inner.post(message, channel=channel, thread_ts=thread_ts)
        self.calls.append(
            SlackCall("chat.postMessage", channel, self.clock.now(), message, result.ts, thread_ts)
        )
        return result

    async def update(self, message: SlackMessage, *, channel: str, ts: str) -> PostResult:
        """Edit through the wrapped sender; record the edit when it succeeded."""
        update = getattr(self.inner, "update", None)
        if not self.supports_updates or update is None:
            raise TypeError(f"{self.inner!r} cannot edit messages")
        result: PostResult = await update(message, channel=channel, ts=ts)
        self.calls.append(SlackCall("chat.update", channel, self.clock.now(), message, ts))
        return result

    async def close(self) -> None:
        """Close the wrapped sender."""
        await self.inner.close()

    def first_shown(self) -> dict[tuple[str, str], datetime]:
        """Return, per (channel, event id), when a post, reply or edit there first showed it."""
        shown: dict[tuple[str, str], datetime] = {}
        for call in self.calls:
            for message_id in call.message_ids:
                key = (call.channel, message_id)
                if key not in shown or call.at < shown[key]:
                    shown[key] = call.at
        return shown
