"""Delivery progress of one outbox entry: what reached Slack, what is being tried, where to.

The runtime saves a :class:`DeliveryProgress` with each outbox entry (the stores keep it as
JSON through their codecs) so that a retry — or a restart after a crash — resumes at the
first page or step not yet done instead of repeating what Slack already shows:

- ``posted``: the ``ts`` of each page posted so far (None from senders without threads);
- ``thread_decided`` / ``parent_ts``: the related earlier post page 1 replies to, once
  decided (``parent_ts`` None: a top-level post);
- ``attempting``: the page index (or the live-digest step) being sent right now. Found on
  an entry recovered after a crash, it means that call may have reached Slack: it is made
  again (at least once) and counted as a possible duplicate;
- ``failures`` / ``failing_since``: the current run of failures, for backoff and giving up;
- ``digest``: where a live digest sends the entry (:class:`DigestPlan`), once decided;
- ``taken_over``: set by a shared store on an entry another instance let go of.

:meth:`DeliveryProgress.from_dict` reads every row written so far — the untyped dict of
earlier versions has the same keys — and keeps keys it does not know, so a row written by
a newer version survives a round trip through an older one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = ["DeliveryProgress", "DigestPlan", "DigestStep"]

_KNOWN = frozenset(
    {"posted", "parent_ts", "attempting", "failures", "failing_since", "digest", "taken_over"}
)


class DigestStep(StrEnum):
    """The next step of an entry going into a live digest."""

    #: Edit the digest post (``chat.update``) to the running summary.
    UPDATE = "update"
    #: Re-post the digest's first post in its thread (before its first edit).
    CONVERT = "convert"
    #: Post the entry's pages in the digest's thread (the last step).
    REPLIES = "replies"


@dataclass(slots=True)
class DigestPlan:
    """Where a live digest sends an entry: its key, its post and the step reached.

    ``parent`` is the digest post's ``ts`` (None: the entry is posted at the top level and
    becomes the digest of ``key``); ``step`` None means no step was taken yet. ``news``,
    set when the entry joined: the digest's items ``[start, end)`` its thread reply shows
    (their news only; an empty range: another entry's reply shows this one's items). None:
    the entry's own pages are posted.
    """

    key: str
    parent: str | None = None
    step: DigestStep | None = None
    news: tuple[int, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form stored with the entry."""
        out: dict[str, Any] = {"key": self.key, "parent": self.parent, "step": _value(self.step)}
        if self.news is not None:
            out["news"] = list(self.news)
        return out

    @classmethod
    def from_dict(cls, raw: Any) -> DigestPlan | None:
        """Read a stored plan; None for anything that is not one (then it is decided again)."""
        if not isinstance(raw, dict) or not isinstance(raw.get("key"), str):
            return None
        parent = raw.get("parent")
        step = raw.get("step")
        news = raw.get("news")
        span = (
            (news[0], news[1])
            if isinstance(news, list)
            and len(news) == 2
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in news)
            else None
        )
        return cls(
            key=raw["key"],
            parent=parent if isinstance(parent, str) and parent else None,
            step=DigestStep(step) if step in _STEPS else None,
            news=span,
        )


_STEPS = frozenset(step.value for step in DigestStep)


@dataclass(slots=True)
class DeliveryProgress:
    """How far the delivery of one outbox entry got (see the module docstring)."""

    posted: list[str | None] = field(default_factory=list)
    thread_decided: bool = False
    parent_ts: str | None = None
    attempting: int | DigestStep | None = None
    failures: int = 0
    failing_since: datetime | None = None
    digest: DigestPlan | None = None
    taken_over: str | None = None
    #: Keys of a stored row this version does not know, kept as they were.
    extra: dict[str, Any] = field(default_factory=dict)

    def clear_failures(self) -> None:
        """Forget the current run of failures and the call in flight (Slack accepted one)."""
        self.attempting = None
        self.failures = 0
        self.failing_since = None

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form stored with the entry (only what is set)."""
        out: dict[str, Any] = dict(self.extra)
        if self.posted:
            out["posted"] = list(self.posted)
        if self.thread_decided:
            out["parent_ts"] = self.parent_ts
        if self.attempting is not None:
            out["attempting"] = _value(self.attempting)
        if self.failures:
            out["failures"] = self.failures
        if self.failing_since is not None:
            out["failing_since"] = self.failing_since.isoformat()
        if self.digest is not None:
            out["digest"] = self.digest.to_dict()
        if self.taken_over is not None:
            out["taken_over"] = self.taken_over
        return out

    @classmethod
    def from_dict(cls, raw: Any) -> DeliveryProgress:
        """Read stored progress, of this version or an earlier one (an untyped dict)."""
        if not isinstance(raw, dict):
            return cls()
        posted = raw.get("posted")
        attempting = raw.get("attempting")
        since = raw.get("failing_since")
        failures = raw.get("failures")
        taken = raw.get("taken_over")
        return cls(
            posted=[p if isinstance(p, str) else None for p in posted]
            if isinstance(posted, list)
            else [],
            thread_decided="parent_ts" in raw,
            parent_ts=raw["parent_ts"] if isinstance(raw.get("parent_ts"), str) else None,
            attempting=_attempt(attempting),
            failures=failures if isinstance(failures, int) and failures > 0 else 0,
            failing_since=_when(since),
            digest=DigestPlan.from_dict(raw.get("digest")),
            taken_over=None if taken is None else str(taken),
            extra={k: v for k, v in raw.items() if k not in _KNOWN},
        )


def _value(value: int | DigestStep | None) -> int | str | None:
    return value.value if isinstance(value, DigestStep) else value


def _attempt(raw: Any) -> int | DigestStep | None:
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, int):
        return raw
    if raw in _STEPS:
        return DigestStep(raw)
    return None


def _when(raw: Any) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        return None
