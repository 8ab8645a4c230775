"""The HTTP API's request and response models (they make the OpenAPI schema)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from ..model.message import BatchableMessage, ContentType, Priority

__all__ = [
    "ChannelPending",
    "DeadLetterList",
    "DeadLetterOut",
    "FlushResult",
    "IngestResponse",
    "IngestResult",
    "MessageIn",
    "PendingBatch",
    "PendingBatches",
    "PendingItem",
    "Problem",
    "ProblemField",
    "ReplayResult",
]


#: At least one character Python's ``str.strip()`` keeps (``\\s`` plus the separators
#: U+001C–U+001F, so the Rust and Python regex engines agree with the batcher's check).
VISIBLE = r"[^\s\x1c-\x1f]"
#: A channel id or name: VISIBLE, and no "/" (it could not be used in a URL path).
CHANNEL = r"^[^/]*[^\s\x1c-\x1f/][^/]*$"


def _iso_string(value: object) -> object:
    """Accept only ISO 8601 strings (JSON has no datetime type; numbers are ambiguous)."""
    if value is not None and not isinstance(value, str | datetime):
        raise ValueError("must be an ISO 8601 date-time string, e.g. 2026-03-02T09:15:00Z")
    return value


def _in_utc_range(value: datetime | None) -> datetime | None:
    """Convert to UTC, refusing times that fall outside the calendar once converted."""
    if value is None:
        return None
    try:
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except OverflowError:
        raise ValueError("is outside the range of dates once converted to UTC") from None


class MessageIn(BaseModel):
    """One event to batch into *channel*: the fields of :class:`BatchableMessage`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": "gh-delivery-7f3a",
                    "channel": "#dev-api",
                    "content_type": "pr_update",
                    "author": "alice",
                    "priority": "medium",
                    "timestamp": "2026-03-02T09:15:00Z",
                    "data": {
                        "repository": "acme/api",
                        "number": 42,
                        "title": "Add auth",
                        "action": "opened",
                        "url": "https://github.com/acme/api/pull/42",
                    },
                }
            ]
        },
    )

    id: str = Field(min_length=1, max_length=255, pattern=VISIBLE, description="Event id (dedup)")
    channel: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        pattern=CHANNEL,
        description="Slack channel id or name (no '/'); required unless the server's "
        "configuration has [[routes]] to choose (docs/sources.md)",
    )
    content_type: ContentType
    timestamp: Annotated[
        datetime | None, BeforeValidator(_iso_string), AfterValidator(_in_utc_range)
    ] = Field(
        default=None, description="When the event happened (ISO 8601; default: now; naive = UTC)"
    )
    author: str | None = Field(default=None, max_length=255)
    priority: Priority = Priority.MEDIUM
    data: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)

    def to_message(self) -> BatchableMessage:
        """Build the library message (raises InvalidMessageError naming a bad field)."""
        kwargs: dict[str, Any] = {}
        if self.timestamp is not None:
            kwargs["timestamp"] = self.timestamp
        return BatchableMessage(
            id=self.id,
            content_type=self.content_type,
            author=self.author,
            priority=self.priority.value,
            data=self.data,
            metadata=self.metadata,
            **kwargs,
        )


class IngestResult(BaseModel):
    """What happened to one event: the batch it joined, and whether that batch flushed."""

    id: str
    channel: str
    #: None when a mute kept the event (see ``muted``).
    batch_id: str | None
    duplicate: bool
    flushed: bool
    flush_reason: str | None = None
    #: The id of the mute that kept this event out of Slack (kept and counted, not posted).
    muted: str | None = None


class IngestResponse(BaseModel):
    """The answer to ``POST /v1/messages``."""

    accepted: int
    duplicates: int
    #: Of the accepted events, those a mute kept (stored and counted, never posted).
    muted: int = 0
    results: list[IngestResult]


class FlushResult(BaseModel):
    """Batches flushed by a flush request, by channel."""

    flushed_batches: int
    flushed_messages: int
    batch_ids: list[str]


class PendingItem(BaseModel):
    """One message waiting in a batch."""

    id: str
    content_type: str
    author: str | None
    priority: str
    timestamp: str
    summary: str


class PendingBatch(BaseModel):
    """One pending batch: when it opened, when it is due, what it holds."""

    id: str
    channel_id: str
    batch_type: str
    message_count: int
    opened_at: str
    due_at: str
    last_activity: str
    seconds_until_due: float
    overdue: bool
    items: list[PendingItem]


class ChannelPending(BaseModel):
    """A channel's pending batches."""

    batch_count: int
    message_count: int
    next_due_at: str | None
    batches: list[PendingBatch]


class PendingBatches(BaseModel):
    """``GET /v1/batches``: the batcher's inspection, nothing sent."""

    inspected_at: str
    total_batches: int
    total_messages: int
    channels: dict[str, ChannelPending]


class DeadLetterOut(BaseModel):
    """A dead letter: messages that could not be delivered, and why."""

    id: str
    channel_id: str
    reason: str
    error_code: str | None
    created_at: str
    batch_id: str | None
    message_count: int
    messages: list[dict[str, Any]]


class DeadLetterList(BaseModel):
    """``GET /v1/dead-letters``."""

    dead_letters: list[DeadLetterOut]


class ReplayResult(BaseModel):
    """A replayed dead letter: how many of its messages were re-queued for batching."""

    id: str
    requeued: int


class ProblemField(BaseModel):
    """One invalid field of a request."""

    field: str
    location: str
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem body: every 4xx and 5xx answer has this shape."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[ProblemField] = Field(default_factory=list)
