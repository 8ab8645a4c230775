"""The fallback formatter: a plain, always-valid list of items.

It is used when no formatter factory is configured, when formatter integration is off, and
when a formatter fails. It builds within Slack's limits by construction: every piece of
user text is escaped and truncated, items are packed into sections of at most
``MAX_SECTION_TEXT`` characters, and a batch too long for one post is paged.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from ..model.batch import BatchGroup
from ..model.message import BatchableMessage, BatchType, ContentType
from . import blocks as bk
from .context import BatchFormatterContext
from .escape import (
    MAX_LINK_URL,
    CleanCache,
    clean,
    escape_mrkdwn,
    href,
    is_http_url,
    is_plain_link_url,
    truncate,
)
from .limits import MAX_BLOCKS, MAX_FALLBACK_TEXT, MAX_HEADER_TEXT, MAX_SECTION_TEXT
from .message import SlackMessage, chain_pages

__all__ = ["format_fallback", "item_title", "render_fallback"]

#: Items per page when pagination is off: still below Slack's block limit.
_MAX_ITEMS_PER_PAGE = 40
_PRIORITY_MARKS = {"critical": "🔴", "high": "🟠", "medium": "", "low": "", "lowest": ""}
_TITLE_KEYS = ("title", "summary", "name", "alertname", "alert_name", "message", "text", "status")


_TITLE_TYPES = (str, int, float)
_KIND_LABELS = {kind: kind.value.replace("_", " ") for kind in ContentType}
_TYPE_VALUES = {kind: kind.value for kind in BatchType}
_ID = attrgetter("id")


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
    """Return the distinct authors, in order of first appearance."""
    authors: list[str] = []
    for message in messages:
        author = message.author
        if author and author not in authors:
            authors.append(author)
    return authors


def _page_lines(chunk: list[BatchableMessage]) -> tuple[list[str], list[str]]:
    """Return a page's item lines and the titles its fallback text lists (the first five).

    This loop runs for every message, so :func:`item_title`, :func:`~.escape.clean` and
    :func:`~.escape.is_http_url` are inlined for the common case (a short printable title
    with nothing to escape, a plain https URL); anything else takes the functions.
    """
    lines: list[str] = []
    shorts: list[str] = []
    prefixes = _PREFIXES
    for message in chunk:
        data = message.data
        raw = data.get("title")
        if type(raw) is not str or not raw or raw.isspace():
            raw = item_title(message)
        if (
            len(raw) <= _SHORT_TITLE
            and raw.isprintable()
            and "&" not in raw
            and "<" not in raw
            and ">" not in raw
            and "@" not in raw
        ):
            title = short = raw  # what clean(raw, 300) and clean(raw, 200) return
        else:
            title = clean(raw, 300)
            short = _short_title(raw, title) if len(shorts) < 5 else ""
        url = data.get("url")
        if url is None:
            link = title
        elif is_plain_link_url(url):
            link = f"<{url.replace('&', '&amp;')}|{title}>" if "&" in url else f"<{url}|{title}>"
        elif is_http_url(url, MAX_LINK_URL):
            link = f"<{href(url)}|{title}>"
        else:
            link = title
        prefix = prefixes[message.priority][message.content_type]
        author = message.author
        if author:
            lines.append(f"{prefix}{link} — {_ITEM_AUTHORS[author]}")
        else:
            lines.append(prefix + link)
        if len(shorts) < 5:
            shorts.append(short)
    return lines, shorts


#: Escaped authors: on item lines (80 characters at most) and in the summary (60).
_ITEM_AUTHORS = CleanCache(80)
_SUMMARY_AUTHORS = CleanCache(60)
#: Titles at most this long are shown whole both in blocks (300) and in the text (200).
_SHORT_TITLE = 200
#: "• 🔴 [alert] ": the start of an item line, by priority and content type.
_PREFIXES = {
    priority: {
        kind: f"• {mark} [{label}] " if mark else f"• [{label}] "
        for kind, label in _KIND_LABELS.items()
    }
    for priority, mark in _PRIORITY_MARKS.items()
}


def _short_title(raw: str, cleaned: str) -> str:
    """Return ``clean(raw, 200)``, reusing *cleaned* (``clean(raw, 300)``) when it is short."""
    if len(cleaned) <= 200 and len(raw) <= 200:
        return cleaned
    return clean(raw, 200)


def _sections(lines: list[str]) -> list[dict[str, Any]]:
    if sum(map(len, lines)) + len(lines) <= MAX_SECTION_TEXT:  # the common case: one section
        return [bk.section("\n".join(lines))]
    return _split_sections(lines)


def _split_sections(lines: list[str]) -> list[dict[str, Any]]:
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
    if batch.scope is not None and batch.profiles is None:  # one scope (see grouping.py)
        scope = batch.scope
    else:
        scopes = _scopes(batch)
        scope = scopes.pop() if len(scopes) == 1 else ""
    noun = "update" if count == 1 else "updates"
    text = f"{count} {noun} in {scope}" if scope else f"{count} {noun}"
    if (  # escape_mrkdwn and truncate, skipped when they would change nothing
        len(text) <= MAX_HEADER_TEXT
        and text.isprintable()
        and "&" not in text
        and "<" not in text
        and ">" not in text
        and "@" not in text
    ):
        return text
    return truncate(escape_mrkdwn(text), MAX_HEADER_TEXT)


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
        summary += " from " + ", ".join(map(_SUMMARY_AUTHORS.__getitem__, authors[:5]))
    pages: list[SlackMessage] = []
    page_count = len(chunks)
    later = len(ordered)
    for number, chunk in enumerate(chunks, start=1):
        lines, shorts = _page_lines(chunk)
        later -= len(chunk)  # items on the pages after this one
        blocks: list[dict[str, Any]]
        if number == 1:
            blocks = [bk.header(header), bk.context(truncate(summary, 2000))]
        else:
            blocks = [bk.context(f"({number}/{page_count}) {header}, continued")]
        sections = _sections(lines)
        if len(sections) > MAX_BLOCKS - len(blocks) - 1:
            sections = sections[: MAX_BLOCKS - len(blocks) - 1]
        blocks += sections
        if later:
            blocks.append(bk.context(f"…and {later} more, continued below"))
        unlisted = len(chunk) - len(shorts) + later
        text = f"{header} ({number}/{page_count})\n• " if page_count > 1 else header + "\n• "
        text += "\n• ".join(shorts)
        if unlisted > 0:
            text += f"\n…and {unlisted} more"
        if len(text) > MAX_FALLBACK_TEXT:
            text = truncate(text, MAX_FALLBACK_TEXT)
        pages.append(
            SlackMessage(blocks, text, channel_id, None, {"page": number, "pages": page_count})
        )
    first = chain_pages(pages, batch.id, channel_id, _TYPE_VALUES[batch.batch_type], count)
    metadata = first.metadata
    metadata["message_ids"] = list(map(_ID, ordered))
    metadata["formatter"] = "fallback"
    if reason:
        metadata["fallback_reason"] = reason
    return first
