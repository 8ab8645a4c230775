"""The message model and the enums every part shares.

A :class:`BatchableMessage` is validated when it is built: a bad field raises
:class:`~slack_batcher.model.errors.InvalidMessageError` naming the field, so nothing half-valid can
reach a batch. Timestamps are timezone-aware UTC; a naive datetime is taken to be UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from .clock import utc_now
from .errors import InvalidMessageError
from .json_size import plain_json_size
from .payload import MAX_NESTING, encoded_size, valid_text

__all__ = [
    "MAX_NESTING",
    "PRIORITY_SCORES",
    "BatchStrategy",
    "BatchType",
    "BatchableMessage",
    "ContentType",
    "Priority",
]

MAX_ID_LENGTH = 255


class ContentType(StrEnum):
    """What kind of event a message reports."""

    PR_UPDATE = "pr_update"
    JIRA_UPDATE = "jira_update"
    ALERT = "alert"
    STANDUP = "standup"
    DEPLOYMENT = "deployment"
    BLOCKER = "blocker"
    CI_BUILD = "ci_build"
    GENERIC = "generic"


class BatchType(StrEnum):
    """What a batch is about, derived from the content types it holds."""

    DAILY_SUMMARY = "daily_summary"
    SPRINT_UPDATE = "sprint_update"
    PR_ACTIVITY = "pr_activity"
    JIRA_ACTIVITY = "jira_activity"
    ALERT_DIGEST = "alert_digest"
    DEPLOYMENT_ACTIVITY = "deployment_activity"
    CI_ACTIVITY = "ci_activity"
    WEEKLY_CHANGELOG = "weekly_changelog"
    TEAM_ACTIVITY = "team_activity"
    CUSTOM = "custom"

    @classmethod
    def for_content_type(cls, content_type: ContentType) -> BatchType:
        """Return the batch type of a batch holding only *content_type* messages."""
        return _BATCH_TYPE_BY_CONTENT[content_type]


_BATCH_TYPE_BY_CONTENT = {
    ContentType.PR_UPDATE: BatchType.PR_ACTIVITY,
    ContentType.JIRA_UPDATE: BatchType.JIRA_ACTIVITY,
    ContentType.ALERT: BatchType.ALERT_DIGEST,
    ContentType.BLOCKER: BatchType.ALERT_DIGEST,
    ContentType.STANDUP: BatchType.DAILY_SUMMARY,
    ContentType.DEPLOYMENT: BatchType.DEPLOYMENT_ACTIVITY,
    ContentType.CI_BUILD: BatchType.CI_ACTIVITY,
    ContentType.GENERIC: BatchType.CUSTOM,
}


class BatchStrategy(StrEnum):
    """How messages are grouped into batches; see ``docs/grouping.md``."""

    TIME_BASED = "time_based"
    CONTENT_SIMILARITY = "content_similarity"
    AUTHOR_BASED = "author_based"
    PRIORITY_BASED = "priority_based"
    MIXED = "mixed"


class Priority(StrEnum):
    """How urgent a message is; ``score`` orders items inside a batch."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    LOWEST = "lowest"

    @property
    def score(self) -> int:
        """The numeric score: critical 100, high 75, medium 50, low 25, lowest 10."""
        return PRIORITY_SCORES[self.value]


PRIORITY_SCORES: dict[str, int] = {
    "critical": 100,
    "high": 75,
    "medium": 50,
    "low": 25,
    "lowest": 10,
}

_CONTENT_TYPES = {member.value: member for member in ContentType}


def _coerce_content_type(value: object) -> ContentType:
    if isinstance(value, ContentType):
        return value
    if isinstance(value, str):
        found = _CONTENT_TYPES.get(value.strip().lower())
        if found is not None:
            return found
    known = ", ".join(sorted(_CONTENT_TYPES))
    raise InvalidMessageError("content_type", f"unknown content type {value!r} (known: {known})")


_PRIORITY_NAMES = {name: name for name in PRIORITY_SCORES}


def _coerce_priority(value: object) -> str:
    if isinstance(value, str):
        # The canonical string is shared by every message: no per-message copy.
        found = _PRIORITY_NAMES.get(value) or _PRIORITY_NAMES.get(value.strip().lower())
        if found is not None:
            return found
    known = ", ".join(PRIORITY_SCORES)
    raise InvalidMessageError("priority", f"unknown priority {value!r} (known: {known})")


def _coerce_timestamp(value: object) -> datetime:
    if not isinstance(value, datetime):
        raise InvalidMessageError(
            "timestamp", f"expected a datetime, got {type(value).__name__} {value!r}"
        )
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise InvalidMessageError(
            "timestamp", f"out of range in UTC: {value.isoformat()}"
        ) from None


def scope_of(data: dict[str, Any]) -> object:
    """Return the raw project-level scope of event *data*, or None.

    The first present of ``repository``, ``project``, ``service`` and ``team``: grouping and
    headers ("5 updates in acme/api") both read it here.
    """
    return data.get("repository") or data.get("project") or data.get("service") or data.get("team")


def _check_id_and_author(id: object, author: object) -> None:
    if not isinstance(id, str) or not id or id.isspace():
        raise InvalidMessageError("id", "must be a non-empty string")
    if len(id) > MAX_ID_LENGTH:
        raise InvalidMessageError("id", f"is {len(id)} characters; at most {MAX_ID_LENGTH}")
    if not id.isascii() and not valid_text(id):
        raise InvalidMessageError("id", "contains a lone surrogate: not valid Unicode text")
    if author is not None:
        if not isinstance(author, str):
            raise InvalidMessageError("author", f"expected a string or None, got {author!r}")
        if not author.isascii() and not valid_text(author):
            raise InvalidMessageError("author", "contains a lone surrogate: not valid Unicode text")


#: "Not given" for BatchableMessage's defaults (None is a value the checks refuse).
_UNSET: Any = object()


@dataclass(frozen=True, slots=True, init=False)
class BatchableMessage:
    """One notification to batch: an event from GitHub, JIRA, CI, a deploy or an alert.

    ``id`` identifies the event (a message id already pending in a channel is not batched
    twice). ``content_type`` and ``priority`` accept the enum or its string value.
    ``timestamp`` is when the event happened (default: now); it is shown to users but
    batching windows run on arrival time. ``data`` carries the event's fields (see
    ``docs/formatting.md`` for the keys each content type reads) and ``metadata`` anything
    the caller wants carried along; both must be JSON objects.
    """

    id: str
    content_type: ContentType
    timestamp: datetime = field(default_factory=utc_now)
    author: str | None = None
    priority: str = "medium"
    data: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    size_bytes: int = field(default=0, compare=False, repr=False)

    def __init__(
        self,
        id: str,
        content_type: ContentType,
        timestamp: datetime = _UNSET,
        author: str | None = None,
        priority: str = "medium",
        data: dict[str, Any] = _UNSET,
        metadata: dict[str, Any] = _UNSET,
        size_bytes: int = 0,
    ) -> None:
        """Validate and build; a bad field raises InvalidMessageError naming it.

        ``size_bytes`` is computed (a value passed in, say by ``dataclasses.replace``, is
        ignored). Written by hand rather than generated: every message a caller builds runs
        it, and the common case (enum members, canonical strings, UTC) converts nothing.
        """
        # The common case first (short ASCII strings); anything else gets the full checks.
        if (
            type(id) is not str
            or not 0 < len(id) <= MAX_ID_LENGTH
            or not id.isascii()
            or id.isspace()
            or (author is not None and (type(author) is not str or not author.isascii()))
        ):
            _check_id_and_author(id, author)
        if type(content_type) is not ContentType:
            content_type = _coerce_content_type(content_type)
        if type(priority) is not str or _PRIORITY_NAMES.get(priority) is not priority:
            priority = _coerce_priority(priority)
        if timestamp is _UNSET:
            timestamp = utc_now()
        elif type(timestamp) is not datetime or timestamp.tzinfo is not UTC:
            timestamp = _coerce_timestamp(timestamp)
        if data is _UNSET:
            data = {}
            size = 2 + len(id)
        else:
            # encoded_size's first step, without its call: a flat payload is counted.
            counted = plain_json_size(data) if type(data) is dict else None
            size = (encoded_size("data", data) if counted is None else counted) + len(id)
        if author:
            size += len(author)
        if metadata is _UNSET:
            metadata = {}
            size += 2
        else:
            size += encoded_size("metadata", metadata)
        # The slots' own setters: what object.__setattr__ ends up calling, without its lookup.
        _SET_ID(self, id)
        _SET_CONTENT_TYPE(self, content_type)
        _SET_TIMESTAMP(self, timestamp)
        _SET_AUTHOR(self, author)
        _SET_PRIORITY(self, priority)
        _SET_DATA(self, data)
        _SET_METADATA(self, metadata)
        _SET_SIZE(self, size)

    def get_similarity_key(self) -> str:
        """Return the key of messages that are "the same kind of thing".

        Content type, author, repository, project and team, lower-cased and joined by ``:``.
        """
        data = self.data
        parts = (
            self.content_type.value,
            self.author or "unknown",
            data.get("repository", ""),
            data.get("project", ""),
            data.get("team", ""),
        )
        return ":".join(str(part).lower() for part in parts)

    def get_priority_score(self) -> int:
        """Return the numeric priority (critical 100 … lowest 10)."""
        return PRIORITY_SCORES[self.priority]

    def get_scope(self) -> str:
        """Return what the message is about, lower-cased: see :func:`scope_of`."""
        scope = scope_of(self.data)
        return str(scope).lower() if scope else ""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict; :meth:`from_dict` reverses it."""
        return {
            "id": self.id,
            "content_type": self.content_type.value,
            "timestamp": self.timestamp.isoformat(),
            "author": self.author,
            "priority": self.priority,
            "data": self.data,
            "metadata": self.metadata,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> BatchableMessage:
        """Build a message from :meth:`to_dict` output (timestamps as ISO 8601 strings)."""
        timestamp = raw.get("timestamp")
        if isinstance(timestamp, str):
            try:
                timestamp = datetime.fromisoformat(timestamp)
            except ValueError:
                raise InvalidMessageError(
                    "timestamp", f"not an ISO 8601 datetime: {timestamp!r}"
                ) from None
        return cls(
            id=raw.get("id", ""),
            content_type=raw.get("content_type", ""),
            timestamp=timestamp if timestamp is not None else utc_now(),
            author=raw.get("author"),
            priority=raw.get("priority", "medium"),
            data=raw.get("data") or {},
            metadata=raw.get("metadata") or {},
        )


def _slot_setter(name: str) -> Callable[[BatchableMessage, Any], None]:
    setter: Callable[[BatchableMessage, Any], None] = vars(BatchableMessage)[name].__set__
    return setter


_SET_ID = _slot_setter("id")
_SET_CONTENT_TYPE = _slot_setter("content_type")
_SET_TIMESTAMP = _slot_setter("timestamp")
_SET_AUTHOR = _slot_setter("author")
_SET_PRIORITY = _slot_setter("priority")
_SET_DATA = _slot_setter("data")
_SET_METADATA = _slot_setter("metadata")
_SET_SIZE = _slot_setter("size_bytes")
