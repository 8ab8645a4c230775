"""The Sender protocol: how a rendered page reaches Slack (or a dry-run sink)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from ..formatting.message import SlackMessage

__all__ = ["PostResult", "Sender"]


@dataclass(slots=True)
class PostResult:
    """What Slack answered to one post: the message ``ts`` (None for webhooks) and warnings."""

    ts: str | None = None
    channel: str | None = None
    warnings: list[str] = field(default_factory=list)


@runtime_checkable
class Sender(Protocol):
    """Posts one page of a SlackMessage.

    ``post`` raises :class:`~slack_batcher.errors.TransientDeliveryError` (worth retrying;
    ``retry_after`` in seconds when Slack said so) or
    :class:`~slack_batcher.errors.PermanentDeliveryError` (``code`` is Slack's error code).
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
