"""The fallback formatter: a plain, always-valid list of items.

It is used when no formatter factory is configured, when formatter integration is off, and
when a formatter fails. It builds within Slack's limits by construction: every piece of
user text is escaped and truncated, items are packed into sections of at most
``MAX_SECTION_TEXT`` characters, and a batch too long for one post is paged.
"""

from __future__ import annotations

from typing import Any

from ..batch import BatchGroup
from ..models import BatchableMessage, ContentType
from . import blocks as bk
from .context import BatchFormatterContext
from .escape import MAX_LINK_URL, clean, clean_short, escape_mrkdwn, href, is_http_url, truncate
from .limits import MAX_BLOCKS, MAX_FALLBACK_TEXT, MAX_HEADER_TEXT, MAX_SECTION_TEXT
from .message import SlackMessage, chain_pages

__all__ = ["format_fallback", "item_title"]

#: Items per page when pagination is off: still below Slack's block limit.
_MAX_ITEMS_PER_PAGE = 40
_PRIORITY_MARKS = {"critical": "🔴", "high": "🟠", "medium": "", "low": "", "lowest": ""}
_TITLE_KEYS = ("title", "summary", "name", "alertname", "alert_name", "message", "text", "status")


_TITLE_TYPES = (str, int, float)
_KIND_LABELS = {kind: kind.value.replace("_", " ") for kind in ContentType}


def item_title(message: BatchableMessage) -> str:
    """Return the raw (unescaped) title of an item: its data's title, or its id."""
    data = message.data
    for key in _TITLE_KEYS:
        value = data.get(key)
        if value is not None and isinstance(value, _TITLE_TYPES):
            text = value if type(value) is str else str(value)
            if text and not text.isspace():
                return text
    return message.id


def _item_line(message: BatchableMessage, title: str) -> str:
    """Return the item's line; *title* is its title, already cleaned (at most 300)."""
    mark = _PRIORITY_MARKS.get(message.priority, "")
    url = message.data.get("url")
    line = f"<{href(url)}|{title}>" if is_http_url(url, MAX_LINK_URL) else title
    author = message.author
    who = f" — {clean_short(author, 80)}" if author else ""
    if mark:
        return f"• {mark} [{_KIND_LABELS[message.content_type]}] {line}{who}"
    return f"• [{_KIND_LABELS[message.content_type]}] {line}{who}"


def _short_title(raw: str, cleaned: str) -> str:
    """Return ``clean(raw, 200)``, reusing *cleaned* (``clean(raw, 300)``) when it is short."""
    if len(cleaned) <= 200 and len(raw) <= 200:
        return cleaned
    return clean(raw, 200)


def _sections(lines: list[str]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    current: list[str] = []
    size = 0
    for line in lines:
        if current and size + len(line) + 1 > MAX_SECTION_TEXT:
            blocks.append(bk.section("\n".join(current)))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current:
        blocks.append(bk.section("\n".join(current)))
    return blocks


def _scopes(batch: BatchGroup) -> set[str]:
    if batch.scope is not None and batch.profiles is None:  # one scope (see grouping.py)
        return {batch.scope} if batch.scope else set()
    return {m.get_scope() for m in batch.messages} - {""}


def _header_text(context: BatchFormatterContext) -> str:
    count = context.message_count
    scopes = _scopes(context.batch_group)
    noun = "update" if count == 1 else "updates"
    where = f" in {scopes.pop()}" if len(scopes) == 1 else ""
    return truncate(escape_mrkdwn(f"{count} {noun}{where}"), MAX_HEADER_TEXT)


def format_fallback(context: BatchFormatterContext, *, reason: str | None = None) -> SlackMessage:
    """Render *context*'s batch as a plain list of items, paged within Slack's limits."""
    batch = context.batch_group
    ordered = batch.ordered_messages(context.priority_ordering)
    per_page = context.items_per_page if context.enable_pagination else _MAX_ITEMS_PER_PAGE
    per_page = max(1, min(per_page, _MAX_ITEMS_PER_PAGE))
    chunks = [ordered[i : i + per_page] for i in range(0, len(ordered), per_page)] or [[]]
    header = _header_text(context)
    authors = ", ".join(clean_short(a, 60) for a in context.authors[:5])
    summary = f"{context.message_count} items" + (f" from {authors}" if authors else "")
    pages: list[SlackMessage] = []
    for number, chunk in enumerate(chunks, start=1):
        raw = [item_title(m) for m in chunk]
        titles = [clean(t, 300) for t in raw]
        lines = [_item_line(m, t) for m, t in zip(chunk, titles, strict=True)]
        blocks: list[dict[str, Any]] = []
        if number == 1:
            blocks.append(bk.header(header))
            blocks.append(bk.context(truncate(summary, 2000)))
        else:
            label = f"({number}/{len(chunks)}) {header}, continued"
            blocks.append(bk.context(label))
        blocks.extend(_sections(lines)[: MAX_BLOCKS - len(blocks) - 1])
        later = sum(len(c) for c in chunks[number:])
        if later:
            more = f"…and {later} more, continued below"
            blocks.append(bk.context(more))
        plain_items = "\n".join(
            f"• {_short_title(r, t)}" for r, t in zip(raw[:5], titles, strict=False)
        )
        unlisted = len(chunk) - min(len(chunk), 5) + later
        page_label = f" ({number}/{len(chunks)})" if len(chunks) > 1 else ""
        text = f"{header}{page_label}\n{plain_items}"
        if unlisted > 0:
            text += f"\n…and {unlisted} more"
        pages.append(
            SlackMessage(
                blocks=blocks,
                text=truncate(text, MAX_FALLBACK_TEXT),
                channel=context.channel_id,
                metadata={"page": number, "pages": len(chunks)},
            )
        )
    first = chain_pages(
        pages,
        batch_id=batch.id,
        channel=context.channel_id,
        batch_type=batch.batch_type.value,
        message_count=context.message_count,
        message_ids=[m.id for m in ordered],
        formatter="fallback",
    )
    if reason:
        first.metadata["fallback_reason"] = reason
    return first
