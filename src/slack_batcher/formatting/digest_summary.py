"""The parent post of a live digest: the running summary of every item in its thread.

A live digest (see ``docs/grouping.md``) is one top-level post per storm: new items go to
its thread, and the parent is edited to this summary::

    37 alerts in api
    now: 25 firing, 12 resolved · Mar 2, 14:10–14:19 UTC · 8 replies in thread
    • :large_orange_circle: HighErrorRate — firing (warning) ×4 · api-1, api-7, +2 · 14:10–14:12
    • DiskSpaceLow — resolved (warning) · firing → resolved after 3 min · 14:10–14:13
    …21 more in thread

Rows are lifecycle-merged and collapsed (:mod:`.lifecycle`, :mod:`.collapse`), most urgent
first, within Slack's limits; the items that do not fit are counted as "…N more in thread".
The header counts every item; "now:" counts each entity once, in its latest state. With
``by_scope`` (a digest for a whole channel) the rows are grouped under their scope.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from ..models import BatchableMessage, ContentType
from . import blocks as bk
from .collapse import Row, collapse_rows, row_lines
from .digest import header_text
from .escape import clean, clean_short, truncate
from .items import DEFAULT_ITEM_FORMATTERS, KINDS, ItemFormatter, ItemView
from .lifecycle import lifecycle_rows, state_of
from .limits import MAX_FALLBACK_TEXT, MAX_HEADER_TEXT, MAX_SECTION_TEXT
from .message import SlackMessage
from .options import FormatOptions
from .render import counts_text, time_span

__all__ = ["DEFAULT_SUMMARY_ROWS", "format_digest_summary", "summary_rows"]

#: Rows the parent shows before "…N more in thread" (Slack's 50 blocks are never near).
DEFAULT_SUMMARY_ROWS = 10
_STATES_SHOWN = 4


def _urgency(row: Row) -> int:
    state = state_of(row.latest)
    return max(m.get_priority_score() for m in row.messages if state_of(m) == state)


def summary_rows(
    messages: Sequence[BatchableMessage],
    options: FormatOptions,
    item_formatters: Mapping[ContentType, ItemFormatter] = DEFAULT_ITEM_FORMATTERS,
) -> tuple[list[Row], list[Row], list[ItemView]]:
    """Return (entity rows, collapsed rows most urgent first, every item's view)."""
    pairs = [(m, item_formatters[m.content_type](m, options)) for m in messages]
    entities = lifecycle_rows(pairs)
    rows = collapse_rows(entities)
    rows.sort(key=lambda row: (-_urgency(row), row.started))
    return entities, rows, [view for _, view in pairs]


def _states_text(entities: list[Row]) -> str:
    states = Counter(state_of(row.latest).lower() for row in entities)
    states.pop("", None)
    if not states:
        return ""
    shown = states.most_common(_STATES_SHOWN)
    text = ", ".join(f"{count} {clean_short(state, 40)}" for state, count in shown)
    rest = sum(states.values()) - sum(count for _, count in shown)
    return f"now: {text}" + (f", {rest} other" if rest else "")


def _scope(row: Row) -> str:
    return row.view.scope or row.latest.get_scope()


def _sections(
    rows: list[Row], options: FormatOptions, max_rows: int, by_scope: bool
) -> tuple[list[str], list[str], int]:
    """Return (section texts, plain lines, rows shown) for the rows that fit."""
    ordered = rows[:max_rows]
    if by_scope and len({_scope(row) for row in rows}) > 1:
        place: dict[str, int] = {}
        for row in ordered:
            place.setdefault(_scope(row), len(place))
        ordered.sort(key=lambda row: place[_scope(row)])  # stable: urgency within a scope
    sections: list[str] = []
    plain: list[str] = []
    current: list[str] = []
    size = 0
    scope: str | None = None
    for row in ordered:
        line, text = row_lines(row, options)
        title = ""
        if by_scope and _scope(row) != scope:
            scope = _scope(row)
            title = f"*{clean(scope or 'other', 80)}*"
        addition = len(line) + len(title) + 2
        if current and (title or size + addition > MAX_SECTION_TEXT):
            sections.append("\n".join(current))
            current, size = [], 0
        if title:
            current.append(title)
        current.append(truncate(line, MAX_SECTION_TEXT - len(title) - 2))
        size += addition
        plain.append(text)
    if current:
        sections.append("\n".join(current))
    return sections, plain, len(ordered)


def format_digest_summary(
    messages: Sequence[BatchableMessage],
    *,
    options: FormatOptions | None = None,
    item_formatters: Mapping[ContentType, ItemFormatter] = DEFAULT_ITEM_FORMATTERS,
    replies: int = 0,
    by_scope: bool = False,
    max_rows: int = DEFAULT_SUMMARY_ROWS,
    channel: str | None = None,
) -> SlackMessage:
    """Render the parent post of a live digest holding *messages* (oldest first).

    *replies* is how many posts its thread has. The message carries no ``message_ids``:
    the items are posted in the thread; the summary only counts and shows them.
    """
    if not messages:
        raise ValueError("messages: a digest summary needs at least one item")
    options = options if options is not None else FormatOptions()
    entities, rows, views = summary_rows(messages, options, item_formatters)
    kinds = Counter(m.content_type for m in messages)
    ordered = sorted(messages, key=lambda m: m.timestamp)
    header = clean(header_text(ordered, set(kinds), views), MAX_HEADER_TEXT)
    states = _states_text(entities)
    if not states or len(kinds) > 1:
        by_kind = counts_text((KINDS[k].noun, KINDS[k].plural, n) for k, n in kinds.items())
        states = f"{by_kind} · {states}" if states else by_kind
    facts = [states, time_span(ordered[0].timestamp, ordered[-1].timestamp)]
    if replies:
        facts.append(f"{replies} {'reply' if replies == 1 else 'replies'} in thread")
    context = truncate(" · ".join(f for f in facts if f), 2000)

    sections, plain, shown = _sections(rows, options, max(1, max_rows), by_scope)
    hidden = sum(len(row.messages) for row in rows[shown:])
    blocks: list[dict[str, Any]] = [bk.header(header), bk.context(context)]
    blocks.extend(bk.section(text) for text in sections)
    more = f"…{hidden} more in thread" if hidden else ""
    if more:
        blocks.append(bk.context(more))

    lines = [f"{header} — {states}" if states else header]
    budget = MAX_FALLBACK_TEXT - len(lines[0]) - 40
    for text in plain[: options.max_items_in_text]:
        budget -= len(text) + 3
        if budget < 0:
            break
        lines.append(f"• {text}")
    if more:
        lines.append(more)
    return SlackMessage(
        blocks=blocks,
        text=truncate("\n".join(lines), MAX_FALLBACK_TEXT),
        channel=channel,
        metadata={
            "digest": True,
            "message_count": len(messages),
            "rows": len(rows),
            "rows_shown": shown,
        },
    )
