"""The Sender protocol: how a rendered page reaches Slack (or a dry-run sink)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from ..formatting.message import SlackMessage

__all__ = ["PostResult", "Sender", "UpdatingSender", "can_update"]


@dataclass(slots=True)
class PostResult:
    """What Slack answered to one post: the message ``ts`` (None for webhooks) and warnings."""

    ts: str | None = None
    channel: str | None = None
    warnings: list[str] = field(default_factory=list)


@runtime_checkable
class Sender(Protocol):
    """Posts one page of a SlackMessage.

    ``post`` raises :class:`~slack_batcher.model.errors.TransientDeliveryError` (worth retrying;
    ``retry_after`` in seconds when Slack said so) or
    :class:`~slack_batcher.model.errors.PermanentDeliveryError` (``code`` is Slack's error code).
    Pacing and retries are the runtime's; a sender makes one attempt per call.
    """

    #: True when posts return a ``ts`` that replies can thread under.
    supports_threads: bool

    async def post(
        self, message: SlackMessage, *, channel: str, thread_ts: str | None = None
    ) -> PostResult:
        """Post *message* (this page only, not its continuations) to *channel*."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class UpdatingSender(Sender, Protocol):
    """A sender that can also edit a message it posted (Slack's ``chat.update``).

    Live digests need it: the runtime edits a digest's parent post as items arrive in its
    thread. ``update`` fails like ``post``; a message that is gone or may not be edited
    raises :class:`~slack_batcher.model.errors.PermanentDeliveryError` with Slack's code
    (``message_not_found``, ``cant_update_message``).
    """

    #: True when :meth:`update` works (a wrapper may forward it or not).
    supports_updates: bool

    async def update(self, message: SlackMessage, *, channel: str, ts: str) -> PostResult:
        """Replace the message *ts* in *channel* with this page of *message*."""
        ...


def can_update(sender: object) -> bool:
    """Return True when *sender* posts with a ``ts`` and can edit what it posted."""
    return bool(
        getattr(sender, "supports_threads", False)
        and getattr(sender, "supports_updates", False)
        and callable(getattr(sender, "update", None))
    )
