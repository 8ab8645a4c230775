"""The multi-item layout: one message for a batch of several events, paged within Slack's limits.

Page 1 opens with a header ("5 updates in acme/api") and a context line (authors, time
span, counts by type). Items follow, one line each, grouped by content type in a mixed
batch (a group's place is that of its most urgent, earliest item) and ordered by priority
then time. Each item is rendered by its own content type's item formatter. Items beyond
``items_per_page`` (with pagination on) or beyond what fits in 50 blocks go to continuation
pages; every page but the last ends with "…and N more, continued below". Repeats collapse
into one line and an entity's events merge into one line with its path (``×4``,
``firing → resolved``; see :mod:`.collapse` and :mod:`.lifecycle`); items_per_page and
"…and N more" then count lines; the header and counts count distinct things (an alert
reported firing then resolved is one alert), and a collapsed line names every place.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from operator import attrgetter
from typing import Any, NamedTuple

from ..model.message import BatchableMessage, ContentType
from . import blocks as bk
from .builtin_lines import BUILTIN_LINES, ItemLines
from .collapse import ALL_PLACES, row_lines
from .context import BatchFormatterContext
from .escape import clean, truncate
from .items import DEFAULT_ITEM_FORMATTERS, KINDS, ItemFormatter, ItemView
from .lifecycle import THING_KINDS, distinct_count, fold_rows, row_count
from .limits import MAX_BLOCKS, MAX_FALLBACK_TEXT, MAX_HEADER_TEXT, MAX_SECTION_TEXT
from .message import SlackMessage, chain_pages
from .options import FormatOptions
from .render import authors_text, counts_text, item_lines, time_span

__all__ = ["format_multi", "header_text", "worded_header"]

#: Items per page when pagination is off: as many as fit, up to this many.
_UNPAGED_ITEMS = 500
#: Blocks a page keeps free besides item sections: header, context, "…and N more".
_RESERVED_BLOCKS = 3
_NOUN_KINDS = THING_KINDS
_FAST = BUILTIN_LINES


class _Item(NamedTuple):
    message: BatchableMessage
    group: ContentType
    line: str
    plain: str
    #: The events a folded line covers (repeats, a lifecycle); empty: just ``message``.
    covers: tuple[BatchableMessage, ...] = ()


_LINE = attrgetter("line")
_PLAIN = attrgetter("plain")
_MESSAGE_ID = attrgetter("message.id")
#: "3 PR updates": the count words of each content type.
_COUNT_WORDS = {kind: (words.noun, words.plural) for kind, words in KINDS.items()}

#: Builds an _Item from a tuple without the generated __new__'s Python-level call.
_new_item = tuple.__new__


def header_text(
    messages: list[BatchableMessage],
    kinds: set[ContentType],
    views: list[ItemView] | None = None,
    count: int | None = None,
) -> str:
    """Return the raw header: "5 updates in acme/api", "3 alerts in api", "4 updates from alice".

    *count* is the number of distinct things the header counts (default: every message).
    The scope is the batch's shared repository/project/team (what grouping matched on),
    else the scope every item's view shares (an alert's service, say).
    """
    return _header(messages, kinds, [v.scope for v in views] if views else None, count)


def _header(
    messages: list[BatchableMessage],
    kinds: Collection[ContentType],
    view_scopes: list[str] | None,
    count: int | None,
) -> str:
    """:func:`header_text`, given the views' scopes (*view_scopes*) rather than the views."""
    scopes: set[str] = set()
    for message in messages:  # each item's repository / project / team
        data = message.data
        value = data.get("repository") or data.get("project") or data.get("team")
        if value:
            scopes.add(value if isinstance(value, str) else str(value))
    if not scopes and view_scopes:
        scopes = set(view_scopes)
        scopes = scopes if "" not in scopes else set()
    folded = len({s.lower() for s in scopes}) if len(scopes) > 1 else len(scopes)
    total = len(messages) if count is None else count
    return worded_header(total, kinds, scopes, folded, {m.author for m in messages})


def worded_header(
    count: int,
    kinds: Collection[ContentType],
    scopes: Collection[str],
    folded_scopes: int,
    authors: Collection[str | None],
) -> str:
    """Word a header from its facts: the item count, content types, scopes and authors.

    *folded_scopes* is the number of distinct scopes ignoring case: scopes that differ only
    in case still name one place. Shared by :func:`header_text` and the live digest's
    running summary, so both word a header alike.
    """
    kind = next(iter(kinds)) if len(kinds) == 1 else None
    if kind in _NOUN_KINDS:
        noun = KINDS[kind].noun if count == 1 else KINDS[kind].plural
    else:
        noun = "update" if count == 1 else "updates"
    if scopes and folded_scopes == 1:
        return f"{count} {noun} in {min(scopes)}"
    if len(authors) == 1 and None not in authors:
        return f"{count} {noun} from {next(iter(authors))}"
    return f"{count} {noun}"


class _Facts:
    """What the header and context line need, collected in the same pass as the items."""

    __slots__ = ("counts", "critical", "folded", "scopes")

    def __init__(self) -> None:
        self.counts: dict[ContentType, int] = {}
        self.critical = 0
        #: Each item's scope, as its view gives it (an alert's service).
        self.scopes: list[str] = []
        #: Whether repeats or lifecycles were folded (items then cover several events).
        self.folded = False


def _items(
    ordered: list[BatchableMessage],
    options: FormatOptions,
    item_formatters: Mapping[ContentType, ItemFormatter],
) -> tuple[list[_Item], _Facts]:
    facts = _Facts()
    counts = facts.counts
    critical = 0
    # PR and JIRA updates with their built-in formatters: read in one pass, lines included
    # (builtin_lines.py). Any other: its view, its lines made below when nothing folds.
    found: list[ItemLines] = []
    views: list[ItemView | None] = []
    titles: set[str] = set()
    for message in ordered:  # one pass (an explicit loop: cheaper than several comprehensions)
        kind = message.content_type
        formatter = item_formatters[kind]
        fast = _FAST.get(kind)
        if fast is not None and formatter is DEFAULT_ITEM_FORMATTERS[kind]:
            parts = fast(message, options)
            views.append(None)
        else:
            view = formatter(message, options)
            parts = (view.label, view.title, view.scope, "", "")
            views.append(view)
        found.append(parts)
        counts[kind] = counts.get(kind, 0) + 1
        if message.priority == "critical":
            critical += 1
        titles.add(parts[1])
    facts.critical = critical
    facts.scopes = [parts[2] for parts in found]
    count = len(ordered)
    items: list[_Item]
    # Folding needs two events of one type with the same label and title (as fold_rows
    # checks); distinct titles rule it out at once.
    if (
        options.fold_repeats
        and len(titles) < count
        and len({(m.content_type, p[0], p[1]) for m, p in zip(ordered, found, strict=True)}) < count
    ):
        # Repeats collapsed, lifecycles merged (see formatting/collapse.py).
        facts.folded = True
        pairs = [
            (m, v if v is not None else item_formatters[m.content_type](m, options))
            for m, v in zip(ordered, views, strict=True)
        ]
        rows = fold_rows(pairs) or ()
        # A post names every place of its lines (it is the thread's record of the storm).
        items = [
            _new_item(
                _Item,
                (row.latest, row.content_type, *row_lines(row, options, ALL_PLACES), row.messages),
            )
            for row in rows
        ]
        # Counts are of distinct things: an entity reported twice is one (lifecycle.py).
        counts.update(dict.fromkeys(counts, 0))
        for row in rows:
            counts[row.content_type] = counts.get(row.content_type, 0) + row_count(row)
        if critical:
            facts.critical = distinct_count(p for p in pairs if p[0].priority == "critical")
    else:
        items = []
        for message, parts, own in zip(ordered, found, views, strict=True):
            kind = message.content_type
            if own is None:
                line, plain = parts[3], parts[4]
            else:
                # The built-in item formatters hand over checked URLs only: not checked again.
                checked = item_formatters[kind] is DEFAULT_ITEM_FORMATTERS[kind]
                line, plain = item_lines(message, own, options, checked)
            items.append(_new_item(_Item, (message, kind, line, plain, ())))
    if len(counts) > 1:  # a mixed batch: group by type, in order of each group's first item
        rank = {kind: place for place, kind in enumerate(counts)}
        items.sort(key=lambda item: rank[item.group])  # stable: keeps order inside a group
    return items, facts


def _group_title(group: ContentType, options: FormatOptions) -> str:
    kind = KINDS[group]
    return f"*{kind.emoji} {kind.group}*" if options.emoji else f"*{kind.group}*"


def _paginate(
    items: list[_Item], per_page: int, options: FormatOptions, grouped: bool
) -> list[tuple[int, list[str]]]:
    """Split item lines into pages of (item count, section texts) within Slack's limits."""
    if 0 < len(items) <= per_page:
        single = _one_page(items, options, grouped)
        if single is not None:
            return [(len(items), single)]
    budget = MAX_BLOCKS - _RESERVED_BLOCKS
    pages: list[tuple[int, list[str]]] = []
    sections: list[str] = []
    current: list[str] = []
    size = count = 0
    group: ContentType | None = None
    for item in items:
        new_group = grouped and (item.group != group or not current)
        fits = size + len(item.line) + 1 <= MAX_SECTION_TEXT
        if current and (new_group or not fits):
            sections.append("\n".join(current))
            current, size = [], 0
        if count == per_page or (not current and len(sections) == budget):
            if current:
                sections.append("\n".join(current))
            pages.append((count, sections))
            sections, current, size, count = [], [], 0, 0
        if grouped and not current:
            title = _group_title(item.group, options)
            current.append(title)
            size += len(title) + 1
        group = item.group
        current.append(item.line)
        size += len(item.line) + 1
        count += 1
    if current:
        sections.append("\n".join(current))
    pages.append((count, sections))
    return pages


#: The longest group title and its newline (emoji on).
_GROUP_TITLE_ROOM = max(len(f"*{kind.emoji} {kind.group}*") for kind in KINDS.values()) + 1


def _one_page(items: list[_Item], options: FormatOptions, grouped: bool) -> list[str] | None:
    """Return the section texts of items that all fit one section each group, else None.

    What :func:`_paginate` gives a page of at most ``per_page`` items, without its checks.
    """
    if not grouped:
        text = "\n".join(map(_LINE, items))
        return [text] if len(text) < MAX_SECTION_TEXT else None  # each line and a newline
    lines = [item.line for item in items]
    size = sum(map(len, lines)) + len(lines)
    if size + _GROUP_TITLE_ROOM * len(items) > MAX_SECTION_TEXT:  # a group title per item
        return None
    sections: list[str] = []
    group: ContentType | None = None
    current: list[str] = []
    for item, line in zip(items, lines, strict=True):
        if item.group != group:
            if current:
                sections.append("\n".join(current))
            group = item.group
            current = [_group_title(group, options)]
        current.append(line)
    sections.append("\n".join(current))
    return sections


def _fallback_text(first_line: str, page_items: list[_Item], shown: int, remaining: int) -> str:
    """Return the page's plain text: first line, top items, "…and N more" (≤ 4000 chars)."""
    plains = list(map(_PLAIN, page_items[:shown]))
    if sum(map(len, plains)) + 3 * len(plains) <= MAX_FALLBACK_TEXT - len(first_line) - 40:
        # Every shown item fits (the loop below would list them all): one join.
        text = first_line + "\n• " + "\n• ".join(plains) if plains else first_line
        if remaining > len(plains):
            text += f"\n…and {remaining - len(plains)} more"
        return text if len(text) <= MAX_FALLBACK_TEXT else truncate(text, MAX_FALLBACK_TEXT)
    lines = [first_line]
    budget = MAX_FALLBACK_TEXT - len(first_line) - 40  # room for the "…and N more" line
    listed = 0
    for item in page_items[:shown]:
        budget -= len(item.plain) + 3
        if budget < 0:
            break
        lines.append(f"• {item.plain}")
        listed += 1
    if remaining > listed:
        lines.append(f"…and {remaining - listed} more")
    return truncate("\n".join(lines), MAX_FALLBACK_TEXT)


def _pages(
    context: BatchFormatterContext,
    pages: list[tuple[int, list[str]]],
    items: list[_Item],
    header: str,
    headline: str,
    summary_text: str,
    options: FormatOptions,
) -> SlackMessage:
    """Return page 1 of a multi-page post, the later pages as its continuations."""
    messages: list[SlackMessage] = []
    done = 0
    total, page_count = len(items), len(pages)
    channel = context.channel_id
    for number, (size, sections) in enumerate(pages, start=1):
        page_items = items[done : done + size]
        done += size
        blocks: list[dict[str, Any]]
        if number == 1:
            blocks = [bk.header(header), bk.context(summary_text)]
            first_line = headline
        else:
            first_line = f"({number}/{page_count}) {header}, continued"
            blocks = [bk.context(first_line)]
        for text in sections:
            blocks.append(bk.section(text))
        if done < total:
            blocks.append(bk.context(f"…and {total - done} more, continued below"))
        text = _fallback_text(
            first_line, page_items, options.max_items_in_text, total - done + size
        )
        messages.append(
            SlackMessage(blocks, text, channel, None, {"page": number, "pages": page_count})
        )
    batch = context.batch_group
    return chain_pages(messages, batch.id, channel, str(batch.batch_type), total)


def format_multi(
    context: BatchFormatterContext,
    options: FormatOptions,
    item_formatters: Mapping[ContentType, ItemFormatter],
) -> SlackMessage:
    """Render *context*'s batch as one multi-item message, paged when it does not fit."""
    batch = context.batch_group
    ordered = batch.ordered_messages(context.priority_ordering)
    items, facts = _items(ordered, options, item_formatters)
    kinds = set(facts.counts)
    per_page = context.items_per_page if context.enable_pagination else _UNPAGED_ITEMS
    single = _one_page(items, options, len(kinds) > 1) if 0 < len(items) <= per_page else None
    if single is not None:  # the common case: _paginate would return this one page
        pages = [(len(items), single)]
    else:
        pages = _paginate(items, max(1, per_page), options, len(kinds) > 1)
    total, page_count = len(items), len(pages)

    header = _header(ordered, kinds, facts.scopes, sum(facts.counts.values()))
    if (
        len(header) > MAX_HEADER_TEXT
        or not header.isprintable()
        or "&" in header
        or "<" in header
        or ">" in header
        or "@" in header
    ):
        header = clean(header, MAX_HEADER_TEXT)
    if len(kinds) == 1:
        ((kind, n),) = facts.counts.items()
        noun, plural = _COUNT_WORDS[kind]
        counts = f"{n} {noun if n == 1 else plural}"
    else:
        counts = counts_text([(*_COUNT_WORDS[k], n) for k, n in facts.counts.items()])
    critical = facts.critical
    if critical:
        counts += f", {critical} critical"
    headline = header
    if len(kinds) > 1:
        headline += f" — {counts}"
    elif critical:
        headline += f" — {critical} critical"
    time_range = context.time_range
    summary = [
        authors_text(context.authors, options),
        time_span(time_range.get("start"), time_range.get("end")),
        counts,
    ]
    summary_text = " · ".join(filter(None, summary))
    if len(summary_text) > 2000:
        summary_text = truncate(summary_text, 2000)

    channel = context.channel_id
    if page_count == 1:  # the common case: one post, no continuation (chain_pages inlined)
        blocks = [bk.header(header), bk.context(summary_text)]
        blocks += [  # bk.section(text), inlined
            {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}
            for text in pages[0][1]
        ]
        first = SlackMessage(
            blocks,
            _fallback_text(headline, items, options.max_items_in_text, total),
            channel,
            None,
            {
                "page": 1,
                "pages": 1,
                "batch_id": batch.id,
                "channel": channel,
                # str() of a StrEnum: its value, without the descriptor lookup of .value
                "batch_type": str(batch.batch_type),
                "message_count": total,
            },
        )
    else:
        first = _pages(context, pages, items, header, headline, summary_text, options)
    metadata = first.metadata
    metadata["message_ids"] = (
        list(map(_MESSAGE_ID, items))
        if facts.folded is False
        else [m.id for i in items for m in (i.covers or (i.message,))]
    )
    return first
