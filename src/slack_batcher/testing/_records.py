"""What FakeSlack remembers: accepted posts, every request, and the faults it was told to inject."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["Fault", "Post", "PostVersion", "RecordedRequest"]


@dataclass(frozen=True, slots=True)
class PostVersion:
    """An earlier version of an edited message: its text and blocks, and since when."""

    text: str
    blocks: list[dict[str, Any]]
    at: datetime


@dataclass(frozen=True, slots=True)
class Post:
    """A message Slack accepted, in its current version (``chat.update`` edits it).

    ``thread_ts`` is the thread's parent ``ts`` for a reply and None for a top-level post;
    ``via`` is ``"api"`` (chat.postMessage) or ``"webhook"``; ``received_at`` is the
    FakeSlack clock's time of the first version; ``params`` holds every other argument sent
    (username, ``reply_broadcast``, …). ``history`` holds the earlier versions, oldest
    first, and ``edited_at`` the time of the last edit (None: never edited).
    """

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None
    via: str
    received_at: datetime
    warnings: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    history: tuple[PostVersion, ...] = ()
    edited_at: datetime | None = None

    @property
    def is_reply(self) -> bool:
        """Return True when this post is a reply in a thread."""
        return self.thread_ts is not None

    @property
    def is_broadcast(self) -> bool:
        """Return True for a thread reply also sent to the channel (``reply_broadcast``)."""
        return self.is_reply and self.params.get("reply_broadcast") in (True, "true", "1", 1)

    @property
    def versions(self) -> list[PostVersion]:
        """Return every version of the message, oldest first, the current one last."""
        at = self.edited_at or self.received_at
        return [*self.history, PostVersion(self.text, self.blocks, at)]


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request FakeSlack received, accepted or not.

    ``method`` is the Web API method (``"chat.postMessage"``) or ``"webhook"``; ``error`` is
    the Slack error code answered (None when the request succeeded); ``fault`` is True when
    an injected fault answered it; ``params`` are the decoded body and query arguments.
    """

    method: str
    channel: str | None
    status: int
    error: str | None
    params: dict[str, Any]
    token: str | None
    content_type: str
    received_at: datetime
    fault: bool = False


@dataclass(eq=False)
class Fault:
    """A failure FakeSlack injects, made by :meth:`FakeSlack.fail`; ``hits`` counts its uses.

    It applies to requests to ``channel`` (every channel when None) and ``method`` (every
    posting endpoint when None: chat.postMessage and webhooks; edits and deletes only when
    named, e.g. ``"chat.update"``), for the next ``times``
    matching requests (forever when None), until :meth:`cancel` is called.
    """

    error: str | None = None
    status: int | None = None
    delay: float = 0.0
    drop: bool = False
    retry_after: int | None = None
    channel: str | None = None
    method: str | None = None
    times: int | None = None
    hits: int = 0
    cancelled: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def active(self) -> bool:
        """Return True while the fault still applies to matching requests."""
        return not self.cancelled and (self.times is None or self.hits < self.times)

    def cancel(self) -> None:
        """Stop injecting this fault."""
        self.cancelled = True

    def matches(self, method: str, channel: str | None) -> bool:
        """Return True when this fault applies to a request (it does not count a hit)."""
        if not self.active:
            return False
        if self.method is None:
            if method not in ("chat.postMessage", "webhook"):
                return False
        elif self.method != method:
            return False
        return self.channel is None or self.channel == channel

    def claim(self) -> bool:
        """Count one use; return False when the fault was used up meanwhile."""
        with self._lock:
            if not self.active:
                return False
            self.hits += 1
            return True
