"""BatchFormatterContext: what a formatter knows about the batch it renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ..model.batch import BatchGroup
from ..model.message import ContentType

if TYPE_CHECKING:
    from .factory import SlackMessageFormatterFactory

__all__ = ["BatchFormatterContext", "MessageType"]


class MessageType(StrEnum):
    """What a formatter is asked to render: one event, or a batch of them."""

    PR_UPDATE = "pr_update"
    PR_BATCH = "pr_batch"
    JIRA_UPDATE = "jira_update"
    JIRA_BATCH = "jira_batch"
    ALERT = "alert"
    DEPLOYMENT = "deployment"
    STANDUP = "standup"
    BLOCKER = "blocker"
    CI_BUILD = "ci_build"
    DIGEST = "digest"
    CUSTOM = "custom"


_SINGLE = {
    ContentType.PR_UPDATE: MessageType.PR_UPDATE,
    ContentType.JIRA_UPDATE: MessageType.JIRA_UPDATE,
    ContentType.ALERT: MessageType.ALERT,
    ContentType.DEPLOYMENT: MessageType.DEPLOYMENT,
    ContentType.STANDUP: MessageType.STANDUP,
    ContentType.BLOCKER: MessageType.BLOCKER,
    ContentType.CI_BUILD: MessageType.CI_BUILD,
    ContentType.GENERIC: MessageType.CUSTOM,
}
_VALUES = {kind: kind.value for kind in ContentType}
_BATCH = {
    ContentType.PR_UPDATE: MessageType.PR_BATCH,
    ContentType.JIRA_UPDATE: MessageType.JIRA_BATCH,
}


@dataclass
class BatchFormatterContext:
    """The seed's formatter context: the batch plus precomputed facts about it."""

    batch_group: BatchGroup
    channel_id: str
    message_count: int
    content_types: dict[str, int]
    authors: list[str]
    time_range: dict[str, datetime | None]
    formatter_factory: SlackMessageFormatterFactory | None = None
    priority_ordering: bool = True
    enable_pagination: bool = True
    items_per_page: int = 5
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_batch(
        cls,
        batch: BatchGroup,
        *,
        formatter_factory: SlackMessageFormatterFactory | None = None,
        priority_ordering: bool = True,
        enable_pagination: bool = True,
        items_per_page: int = 5,
    ) -> BatchFormatterContext:
        """Build the context of *batch*."""
        messages = batch.messages
        authors: list[str] = []
        content_types: dict[str, int] = {}
        start = end = None
        for message in messages:  # one pass: this runs for every flush
            author = message.author
            if author and author not in authors:
                authors.append(author)
            kind = _VALUES[message.content_type]
            content_types[kind] = content_types.get(kind, 0) + 1
            stamp = message.timestamp
            if start is None or stamp < start:
                start = stamp
            if end is None or stamp > end:
                end = stamp
        time_range: dict[str, datetime | None] = {"start": start, "end": end}
        return cls(
            batch,
            batch.channel_id,
            len(messages),
            content_types,
            authors,
            time_range,
            formatter_factory,
            priority_ordering,
            enable_pagination,
            items_per_page,
        )

    def get_message_type(self) -> MessageType:
        """Return the type to route on: the single event's type, a PR/JIRA batch, or a digest."""
        messages = self.batch_group.messages
        if len(messages) == 1:
            return _SINGLE[messages[0].content_type]
        kind = messages[0].content_type if messages else None
        for message in messages:
            if message.content_type is not kind:
                return MessageType.DIGEST
        return _BATCH.get(kind, MessageType.DIGEST)  # type: ignore[arg-type]

    def get_formatter_data(self) -> dict[str, Any]:
        """Return the batch as plain data: ordered items and the summary facts."""
        ordered = self.batch_group.ordered_messages(self.priority_ordering)
        return {
            "batch_id": self.batch_group.id,
            "channel_id": self.channel_id,
            "batch_type": self.batch_group.batch_type.value,
            "message_count": self.message_count,
            "content_types": self.content_types,
            "authors": self.authors,
            "time_range": self.time_range,
            "items": [m.to_dict() for m in ordered],
        }
