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
from .escape import CleanCache, clean, truncate
from .items import KINDS, ItemFormatter, details_of
from .limits import MAX_FALLBACK_TEXT, MAX_FIELDS
from .message import SlackMessage
from .options import FormatOptions
from .render import _NAMES, _STATUSES, author_text, item_line, item_link, item_plain, stamp
from .render import marker as priority_marker

__all__ = ["format_single"]

_DETAIL_LIMIT = 500
_FIELD_VALUE_LIMIT = 300
#: Escaped field labels and short field values (repositories, actions, statuses repeat).
_LABELS = CleanCache(40)
_VALUES = CleanCache(_FIELD_VALUE_LIMIT)
#: "PR update": each content type's noun, capitalised.
_NOUNS = {kind: words.noun[0].upper() + words.noun[1:] for kind, words in KINDS.items()}


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
            lines.append(f"*{_STATUSES[view.status]}*")
        detail, detail_fields = details_of(formatter, view, message, options)
        if detail:
            lines.append(clean(detail, _DETAIL_LIMIT))
        pairs = [(label, value) for label, value in detail_fields if value != view.status]
        if message.priority != "medium":
            pairs.append(("Priority", message.priority))
        fields = [f"*{_LABELS[label]}*\n{_VALUES[value]}" for label, value in pairs[:MAX_FIELDS]]
        about = [_NOUNS[message.content_type]]
        if view.scope:
            about.append(_NAMES[view.scope])
        if message.author:
            about.append(author_text(message.author, options))
        about.append(stamp(message.timestamp))
        blocks = [bk.section("\n".join(lines), fields), bk.context(" · ".join(about))]
    text = f"{_NOUNS[message.content_type]}: {item_plain(message, view)}"
    if len(text) > MAX_FALLBACK_TEXT:
        text = truncate(text, MAX_FALLBACK_TEXT)
    channel = context.channel_id
    metadata = {
        "page": 1,
        "pages": 1,
        "batch_id": batch.id,
        "channel": channel,
        "batch_type": str(batch.batch_type),  # a StrEnum's str() is its value
        "message_count": 1,
        "message_ids": [message.id],
    }
    return SlackMessage(blocks, text, channel, None, metadata)
