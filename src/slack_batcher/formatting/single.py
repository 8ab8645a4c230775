"""The single-event layout: a batch of one reads as a normal post, not a "digest of 1".

Detailed: a section with the priority marker, type emoji and linked title, the status and a
short description, a grid of the event's detail fields, and a context line (type, scope,
author, time). Compact: one line, like an item of a multi-item message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..model.message import ContentType
from . import blocks as bk
from .context import BatchFormatterContext
from .escape import clean, truncate
from .items import KINDS, ItemFormatter, details_of
from .limits import MAX_FALLBACK_TEXT, MAX_FIELDS
from .message import SlackMessage
from .options import FormatOptions
from .render import NAME_LIMIT, STATUS_LIMIT, author_text, item_line, item_link, item_plain, stamp
from .render import marker as priority_marker

__all__ = ["format_single"]

_DETAIL_LIMIT = 500
_FIELD_VALUE_LIMIT = 300


def format_single(
    context: BatchFormatterContext,
    options: FormatOptions,
    item_formatters: Mapping[ContentType, ItemFormatter],
) -> SlackMessage:
    """Render the one message of *context*'s batch as a normal single-event post."""
    batch = context.batch_group
    message = batch.messages[0]
    kind = KINDS[message.content_type]
    formatter = item_formatters[message.content_type]
    view = formatter(message, options)
    blocks: list[dict[str, Any]]
    if options.compact:
        blocks = [bk.section(item_line(message, view, options)[2:])]
    else:
        emoji = f"{kind.emoji} " if options.emoji else ""
        lines = [f"{priority_marker(message.priority, options)}{emoji}*{item_link(view)}*"]
        if view.status:
            lines.append(f"*{clean(view.status, STATUS_LIMIT)}*")
        detail, detail_fields = details_of(formatter, view, message, options)
        if detail:
            lines.append(clean(detail, _DETAIL_LIMIT))
        pairs = [(label, value) for label, value in detail_fields if value != view.status]
        if message.priority != "medium":
            pairs.append(("Priority", message.priority))
        fields = [
            f"*{clean(label, 40)}*\n{clean(value, _FIELD_VALUE_LIMIT)}"
            for label, value in pairs[:MAX_FIELDS]
        ]
        about = [kind.noun[0].upper() + kind.noun[1:]]
        if view.scope:
            about.append(clean(view.scope, NAME_LIMIT))
        if message.author:
            about.append(author_text(message.author, options))
        about.append(stamp(message.timestamp))
        blocks = [bk.section("\n".join(lines), fields), bk.context(" · ".join(about))]
    noun = kind.noun[0].upper() + kind.noun[1:]
    text = truncate(f"{noun}: {item_plain(message, view)}", MAX_FALLBACK_TEXT)
    return SlackMessage(
        blocks=blocks,
        text=text,
        channel=context.channel_id,
        metadata={
            "page": 1,
            "pages": 1,
            "batch_id": batch.id,
            "channel": context.channel_id,
            "batch_type": batch.batch_type.value,
            "message_count": 1,
            "message_ids": [message.id],
        },
    )
