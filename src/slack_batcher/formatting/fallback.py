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

__all__ = ["format_fallback", "item_title", "render_fallback"]

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


def _authors(messages: list[BatchableMessage]) -> list[str]:
    authors: list[str] = []
    for message in messages:
        if message.author and message.author not in authors:
            authors.append(message.author)
    return authors


def _page_lines(chunk: list[BatchableMessage]) -> tuple[list[str], list[str]]:
    """Return a page's item lines and its first five fallback-text lines."""
    lines: list[str] = []
    plain: list[str] = []
    marks, labels = _PRIORITY_MARKS, _KIND_LABELS
    for message in chunk:  # the item line, inlined: this loop runs for every message
        raw = item_title(message)
        title = clean(raw, 300)
        url = message.data.get("url")
        line = f"<{href(url)}|{title}>" if is_http_url(url, MAX_LINK_URL) else title
        mark = marks.get(message.priority, "")
        kind = labels[message.content_type]
        author = message.author
        if author:
            line += " — " + clean_short(author, 80)
        lines.append(f"• {mark} [{kind}] {line}" if mark else f"• [{kind}] {line}")
        if len(plain) < 5:
            plain.append("• " + _short_title(raw, title))
    return lines, plain


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


def _header_text(batch: BatchGroup, count: int) -> str:
    scopes = _scopes(batch)
    noun = "update" if count == 1 else "updates"
    where = f" in {scopes.pop()}" if len(scopes) == 1 else ""
    return truncate(escape_mrkdwn(f"{count} {noun}{where}"), MAX_HEADER_TEXT)


def format_fallback(context: BatchFormatterContext, *, reason: str | None = None) -> SlackMessage:
    """Render *context*'s batch as a plain list of items, paged within Slack's limits."""
    return render_fallback(
        context.batch_group,
        channel_id=context.channel_id,
        priority_ordering=context.priority_ordering,
        enable_pagination=context.enable_pagination,
        items_per_page=context.items_per_page,
        reason=reason,
        count=context.message_count,
        authors=context.authors,
    )


def render_fallback(
    batch: BatchGroup,
    *,
    channel_id: str,
    priority_ordering: bool = True,
    enable_pagination: bool = True,
    items_per_page: int = 5,
    reason: str | None = None,
    count: int | None = None,
    authors: list[str] | None = None,
) -> SlackMessage:
    """Render *batch* as :func:`format_fallback` does, without a BatchFormatterContext.

    *count* and *authors* default to the batch's message count and distinct authors.
    """
    ordered = batch.ordered_messages(priority_ordering)
    if count is None:
        count = len(batch.messages)
    if authors is None:
        authors = _authors(batch.messages)
    per_page = items_per_page if enable_pagination else _MAX_ITEMS_PER_PAGE
    per_page = max(1, min(per_page, _MAX_ITEMS_PER_PAGE))
    if len(ordered) <= per_page:
        chunks = [ordered]
    else:
        chunks = [ordered[i : i + per_page] for i in range(0, len(ordered), per_page)]
    header = _header_text(batch, count)
    summary = f"{count} items"
    if authors:
        summary += " from " + ", ".join([clean_short(a, 60) for a in authors[:5]])
    pages: list[SlackMessage] = []
    page_count = len(chunks)
    for number, chunk in enumerate(chunks, start=1):
        lines, plain = _page_lines(chunk)
        blocks: list[dict[str, Any]]
        if number == 1:
            blocks = [bk.header(header), bk.context(truncate(summary, 2000))]
        else:
            blocks = [bk.context(f"({number}/{page_count}) {header}, continued")]
        blocks.extend(_sections(lines)[: MAX_BLOCKS - len(blocks) - 1])
        later = len(ordered) - sum(len(c) for c in chunks[:number]) if number < page_count else 0
        if later:
            blocks.append(bk.context(f"…and {later} more, continued below"))
        unlisted = len(chunk) - len(plain) + later
        text = header + (f" ({number}/{page_count})" if page_count > 1 else "")
        text += "\n" + "\n".join(plain)
        if unlisted > 0:
            text += f"\n…and {unlisted} more"
        pages.append(
            SlackMessage(
                blocks=blocks,
                text=truncate(text, MAX_FALLBACK_TEXT),
                channel=channel_id,
                metadata={"page": number, "pages": page_count},
            )
        )
    first = chain_pages(
        pages,
        batch_id=batch.id,
        channel=channel_id,
        batch_type=batch.batch_type.value,
        message_count=count,
        message_ids=[m.id for m in ordered],
        formatter="fallback",
    )
    if reason:
        first.metadata["fallback_reason"] = reason
    return first
