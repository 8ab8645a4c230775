"""Mutes: "stop posting this for a while", and the events a mute kept out of Slack.

A :class:`Mute` names a *scope* — what it silences — in one of these forms:

==============================  =====================================================
scope                           silences
==============================  =====================================================
``alert:<alertname>``           every alert of that name
``alert:<alertname>/<service>`` that alert for one service
``pr:<owner/repo>#<number>``    one pull request
``jira:<KEY-12>``               one Jira ticket
``digest:<digest key>``         a live digest's key (``alert:api``); ``*`` in the key
                                matches any value, as in a mixed digest's key
==============================  =====================================================

Scopes are compared lower-cased. A mute holds for one channel, or every channel when
``channel`` is None, until ``until``; a ``critical`` event still posts unless
``covers_critical``. A muted event is never posted and never dropped: it is kept as a
:class:`MutedEvent` (the mute, the channel and route it was going to, the message) so the
service can account for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .message import BatchableMessage, ContentType

__all__ = [
    "SCOPE_KINDS",
    "SCOPE_PATTERN",
    "Mute",
    "MutedEvent",
    "common_scope",
    "line_scopes",
    "message_scopes",
    "parse_scope",
    "scope_matches",
]

#: The kinds of scope a mute can name (the text before the first ``:``).
SCOPE_KINDS = ("alert", "pr", "jira", "digest")
_MAX_SCOPE = 300
_MAX_TEXT = 500


def _part(data: dict[str, Any], *names: str) -> str:
    for name in names:
        value = data.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip().lower()
    return ""


def _either(word: str) -> str:
    return "".join(f"[{c.upper()}{c}]" for c in word)


#: What a scope looks like, for schemas (:func:`parse_scope` checks the same).
SCOPE_PATTERN = r"^\s*(" + "|".join(_either(k) for k in SCOPE_KINDS) + r"):\s*\S"


def parse_scope(text: str) -> str:
    """Return *text* as a normalised scope (stripped, lower-cased).

    Raises ValueError naming what is wrong: an unknown kind, an empty or too long value.
    """
    stripped = text.strip()
    kind, sep, value = stripped.partition(":")
    kind = kind.lower()
    if not sep or kind not in SCOPE_KINDS or kind != kind.strip():
        raise ValueError(f"{text!r}: a scope is one of {', '.join(k + ':…' for k in SCOPE_KINDS)}")
    if not value.strip() or len(stripped) > _MAX_SCOPE:
        raise ValueError(f"{text!r}: the value after {kind}: must be 1 to {_MAX_SCOPE} characters")
    return f"{kind}:{value.strip().lower()}"


def message_scopes(message: BatchableMessage, digest: str | None = None) -> frozenset[str]:
    """Return the scopes *message* belongs to (and ``digest:<digest>`` when given)."""
    data = message.data
    found: set[str] = set()
    kind = message.content_type
    if kind is ContentType.ALERT:
        name = _part(data, "alertname", "alert_name", "name")
        if name:
            found.add(f"alert:{name}")
            service = _part(data, "service")
            if service:
                found.add(f"alert:{name}/{service}")
    elif kind is ContentType.PR_UPDATE:
        repo, number = _part(data, "repository", "repo"), _part(data, "number", "pr_number")
        if repo and number:
            found.add(f"pr:{repo}#{number}")
    elif kind is ContentType.JIRA_UPDATE:
        ticket = _part(data, "key", "issue_key", "ticket")
        if ticket:
            found.add(f"jira:{ticket}")
    else:  # the push merging a pull request carries its thread key: muted with it
        thread = message.metadata.get("thread_key")
        if isinstance(thread, str) and thread.startswith("pr:"):
            found.add(thread.lower())
    if digest is not None:
        found.add(f"digest:{digest.lower()}")
    return frozenset(found)


def common_scope(messages: Sequence[BatchableMessage], digest: str) -> str:
    """Return the narrowest scope every message shares, else ``digest:<digest>``."""
    shared: frozenset[str] | None = None
    for message in messages:
        scopes = message_scopes(message)
        shared = scopes if shared is None else shared & scopes
        if not shared:
            break
    if shared:
        return max(shared, key=lambda s: (len(s), s))
    return f"digest:{_widened(digest, messages).lower()}"


def _widened(digest: str, messages: Sequence[BatchableMessage]) -> str:
    """Return *digest*, a type-and-scope key, as ``*:<scope>`` when it holds other types.

    A live digest takes related batches of other routine types (a push in a PR digest): a
    mute of its key alone would let those keep coming into the muted post.
    """
    kind, colon, scope = digest.partition(":")
    if not colon or "=" in digest or kind == "*":
        return digest  # a channel-wide or field-based key names no type
    if all(message.content_type.value == kind for message in messages):
        return digest
    return f"*:{scope}"


def line_scopes(messages: Sequence[BatchableMessage]) -> list[str]:
    """Return the narrowest scope of each alert / PR / ticket in *messages*, first seen first."""
    found: dict[str, None] = {}
    for message in messages:
        scopes = message_scopes(message)
        if scopes:
            found.setdefault(max(scopes, key=lambda s: (len(s), s)), None)
    return list(found)


def scope_matches(scope: str, scopes: Iterable[str]) -> bool:
    """Return True when the mute scope *scope* names one of a message's *scopes*.

    A digest scope's ``*`` values match any value (a mixed digest mutes every key it covers).
    """
    if not scope.startswith("digest:") or "*" not in scope:
        return scope in scopes
    pattern = re.compile(
        "".join("[^,:=]*" if part == "*" else re.escape(part) for part in re.split(r"(\*)", scope))
    )
    return any(pattern.fullmatch(candidate) for candidate in scopes)


@dataclass(frozen=True, slots=True)
class Mute:
    """One mute: *scope* silenced in *channel* (None: every channel) until *until*."""

    id: str
    scope: str
    created_by: str
    created_at: datetime
    until: datetime
    reason: str = ""
    covers_critical: bool = False
    channel: str | None = None
    #: ``mute``, or ``ack``: an acknowledgement, kept beside the mutes; it silences nothing.
    kind: str = "mute"

    def __post_init__(self) -> None:
        if self.kind not in ("mute", "ack"):
            raise ValueError(f"kind: 'mute' or 'ack', got {self.kind!r}")
        if self.until.tzinfo is None or self.created_at.tzinfo is None:
            raise ValueError("until: mute times must be timezone-aware")
        if len(self.reason) > _MAX_TEXT or len(self.created_by) > _MAX_TEXT:
            raise ValueError(f"reason: at most {_MAX_TEXT} characters")

    def active(self, now: datetime) -> bool:
        """Return True while the mute holds."""
        return now < self.until

    def covers(
        self, message: BatchableMessage, channel: str, scopes: Iterable[str], now: datetime
    ) -> bool:
        """Return True when this mute keeps *message* (of *scopes*) out of *channel* at *now*."""
        if self.kind != "mute" or not self.active(now):
            return False
        if self.channel is not None and self.channel != channel:
            return False
        if message.priority == "critical" and not self.covers_critical:
            return False
        return scope_matches(self.scope, scopes)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict; :meth:`from_dict` reverses it."""
        return {
            "id": self.id,
            "scope": self.scope,
            "channel": self.channel,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "until": self.until.isoformat(),
            "reason": self.reason,
            "covers_critical": self.covers_critical,
            "kind": self.kind,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Mute:
        """Rebuild a mute from :meth:`to_dict` output."""
        channel = raw.get("channel")
        return cls(
            id=str(raw["id"]),
            scope=str(raw["scope"]),
            channel=str(channel) if channel else None,
            created_by=str(raw.get("created_by") or ""),
            created_at=datetime.fromisoformat(raw["created_at"]),
            until=datetime.fromisoformat(raw["until"]),
            reason=str(raw.get("reason") or ""),
            covers_critical=bool(raw.get("covers_critical")),
            kind=str(raw.get("kind") or "mute"),
        )


@dataclass(frozen=True, slots=True)
class MutedEvent:
    """An accepted event a mute kept out of *channel*: kept, counted, never posted."""

    mute_id: str
    channel: str
    message: BatchableMessage
    muted_at: datetime
    route: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict; :meth:`from_dict` reverses it."""
        return {
            "mute_id": self.mute_id,
            "channel": self.channel,
            "route": self.route,
            "muted_at": self.muted_at.isoformat(),
            "message": self.message.to_dict(),
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> MutedEvent:
        """Rebuild an event from :meth:`to_dict` output."""
        return cls(
            mute_id=str(raw["mute_id"]),
            channel=str(raw["channel"]),
            route=str(raw.get("route") or ""),
            muted_at=datetime.fromisoformat(raw["muted_at"]),
            message=BatchableMessage.from_dict(raw["message"]),
        )
