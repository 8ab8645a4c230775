"""SlackMessage: a rendered post, ready for chat.postMessage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["SlackMessage", "chain_pages"]


@dataclass(slots=True)
class SlackMessage:
    """One Slack post: Block Kit ``blocks`` plus plain ``text`` that says the same.

    ``text`` is the fallback shown in notifications and read by screen readers; it is never
    empty. ``continuations`` holds later pages of a paged batch: the runtime posts them as
    thread replies to this message (or as "(2/3)" follow-ups without threading).
    ``metadata`` is ours (batch id, channel, counts, message ids) and is not sent to Slack.
    """

    blocks: list[dict[str, Any]]
    text: str
    channel: str | None = None
    thread_ts: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    continuations: list[SlackMessage] = field(default_factory=list)

    @property
    def pages(self) -> list[SlackMessage]:
        """Return this message followed by its continuation pages."""
        return [self, *self.continuations]

    def to_post_kwargs(self) -> dict[str, Any]:
        """Return the keyword arguments of ``chat.postMessage`` for this page alone."""
        kwargs: dict[str, Any] = {"text": self.text, "blocks": self.blocks}
        if self.channel is not None:
            kwargs["channel"] = self.channel
        if self.thread_ts is not None:
            kwargs["thread_ts"] = self.thread_ts
        return kwargs

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict of every field; :meth:`from_dict` reverses it."""
        raw: dict[str, Any] = {
            "blocks": self.blocks,
            "text": self.text,
            "channel": self.channel,
            "thread_ts": self.thread_ts,
            "metadata": self.metadata,
        }
        if self.continuations:
            raw["continuations"] = [page.to_dict() for page in self.continuations]
        return raw

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> SlackMessage:
        """Rebuild a message from :meth:`to_dict` output."""
        return cls(
            blocks=list(raw.get("blocks") or []),
            text=str(raw.get("text") or ""),
            channel=raw.get("channel"),
            thread_ts=raw.get("thread_ts"),
            metadata=dict(raw.get("metadata") or {}),
            continuations=[cls.from_dict(page) for page in raw.get("continuations") or []],
        )


def chain_pages(
    pages: list[SlackMessage],
    batch_id: str,
    channel: str | None,
    batch_type: str,
    message_count: int,
) -> SlackMessage:
    """Return page 1 of *pages*, carrying the others as continuations and the batch's facts.

    Page 1's metadata gains ``batch_id``, ``channel``, ``batch_type`` and ``message_count``
    (every layout records them); the caller adds what is its own.
    """
    first = pages[0]
    first.continuations = pages[1:]
    metadata = first.metadata
    metadata["batch_id"] = batch_id
    metadata["channel"] = channel
    metadata["batch_type"] = batch_type
    metadata["message_count"] = message_count
    return first
