"""The parent post of a live digest: the running summary of every item in its thread.

A live digest (see ``docs/grouping.md``) is one top-level post per storm: new items go to
its thread, and the parent is edited to this summary::

    37 alerts in api
    now: 25 firing, 12 resolved · Mar 2, 14:10–14:19 UTC · 8 replies in thread
    • :large_orange_circle: HighErrorRate — firing (warning) ×4 · api-1, api-7, +2 · 14:10–14:12
    • DiskSpaceLow — resolved (warning) · firing → resolved after 3 min · 14:10–14:13
    …21 more in thread

Rows are lifecycle-merged and collapsed (:mod:`.lifecycle`, :mod:`.collapse`), most urgent
first, within Slack's limits; what does not fit is counted as "…N more in thread". Counts
are of things, never of notifications: "now:" counts each entity (an alert by its
fingerprint, a PR or ticket by its key) once, in its latest state; the header, "×N" and
"…N more" count alerts, deployments and builds by entity (an alert re-sent or resolved is
still one alert) and PR / JIRA updates as updates. With
``by_scope`` (a digest for a whole channel) the rows are grouped under their scope.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..model.message import BatchableMessage, ContentType
from . import blocks as bk
from .collapse import Row, collapse_rows, row_lines
from .escape import clean, clean_short, truncate
from .items import DEFAULT_ITEM_FORMATTERS, KINDS, ItemFormatter, ItemView
from .lifecycle import lifecycle_rows, row_count, state_of
from .limits import MAX_FALLBACK_TEXT, MAX_HEADER_TEXT, MAX_SECTION_TEXT
from .message import SlackMessage
from .multi import header_text
from .options import FormatOptions
from .render import counts_text, time_span

__all__ = [
    "DEFAULT_SUMMARY_ROWS",
    "ShownRow",
    "SummaryParts",
    "format_digest_summary",
    "states_text",
    "summary_message",
    "summary_rows",
]

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


def states_text(states: list[tuple[str, int]], total: int) -> str:
    """Return "now: 25 firing, 12 resolved, 3 other" from the most common states.

    *states* are (lower-cased state, entities in it), most common first (on a tie, the state
    an earlier entity is in first), at least :data:`_STATES_SHOWN` of them when there are;
    *total* counts the entities that have a state.
    """
    if not states:
        return ""
    shown = states[:_STATES_SHOWN]
    text = ", ".join(f"{count} {clean_short(state, 40)}" for state, count in shown)
    rest = total - sum(count for _, count in shown)
    return f"now: {text}" + (f", {rest} other" if rest else "")


def _states_text(entities: list[Row]) -> str:
    states = Counter(state_of(row.latest).lower() for row in entities)
    states.pop("", None)
    return states_text(states.most_common(_STATES_SHOWN), sum(states.values()))


def _scope(row: Row) -> str:
    return row.view.scope or row.latest.get_scope()


#: A shown row: its scope and its (mrkdwn, plain) lines.
ShownRow = tuple[str, tuple[str, str]]


def _sections(shown: list[ShownRow], grouped: bool) -> tuple[list[str], list[str]]:
    """Return (section texts, plain lines) for the *shown* rows; *grouped*: under scopes."""
    ordered = list(shown)
    if grouped:  # with one scope shown this changes nothing
        place: dict[str, int] = {}
        for row_scope, _ in ordered:
            place.setdefault(row_scope, len(place))
        ordered.sort(key=lambda row: place[row[0]])  # stable: urgency within a scope
    sections: list[str] = []
    plain: list[str] = []
    current: list[str] = []
    size = 0
    scope: str | None = None
    for row_scope, (line, text) in ordered:
        title = ""
        if grouped and row_scope != scope:
            scope = row_scope
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
    return sections, plain


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

    This renders every item again; a live digest folds each batch into a
    :class:`~.digest_state.DigestState` instead, which renders the same message.
    """
    if not messages:
        raise ValueError("messages: a digest summary needs at least one item")
    options = options if options is not None else FormatOptions()
    entities, rows, views = summary_rows(messages, options, item_formatters)
    kinds: Counter[ContentType] = Counter()
    for row in entities:
        kinds[row.messages[0].content_type] += row_count(row)
    ordered = sorted(messages, key=lambda m: m.timestamp)
    shown = rows[: max(1, max_rows)]
    return summary_message(
        SummaryParts(
            count=len(messages),
            header=header_text(ordered, set(kinds), views, sum(kinds.values())),
            kinds=list(kinds.items()),
            states=_states_text(entities),
            start=ordered[0].timestamp,
            end=ordered[-1].timestamp,
            shown=[(_scope(row), row_lines(row, options)) for row in shown],
            grouped=by_scope,
            hidden=sum(row_count(row) for row in rows[len(shown) :]),
            rows=len(rows),
        ),
        options,
        replies=replies,
        channel=channel,
    )


@dataclass(frozen=True, slots=True)
class SummaryParts:
    """What a digest summary shows, however it was worked out.

    ``count`` is the number of items (events), ``header`` the raw header, ``kinds`` the
    distinct things per content type (in order of each type's first item), ``states`` the
    "now:" text, ``start``/``end`` the first and last item's time, ``shown`` the rows shown
    (most urgent first), ``grouped`` whether they go under their scopes, ``hidden`` the
    distinct things in the rows not shown, ``rows`` the number of rows.
    """

    count: int
    header: str
    kinds: list[tuple[ContentType, int]]
    states: str
    start: datetime
    end: datetime
    shown: list[ShownRow]
    grouped: bool
    hidden: int
    rows: int


def summary_message(
    parts: SummaryParts, options: FormatOptions, *, replies: int, channel: str | None
) -> SlackMessage:
    """Return the summary post showing *parts* (blocks, fallback text, metadata)."""
    header = clean(parts.header, MAX_HEADER_TEXT)
    states = parts.states
    if not states or len(parts.kinds) > 1:
        by_kind = counts_text((KINDS[k].noun, KINDS[k].plural, n) for k, n in parts.kinds)
        states = f"{by_kind} · {states}" if states else by_kind
    facts = [states, time_span(parts.start, parts.end)]
    if replies:
        facts.append(f"{replies} {'reply' if replies == 1 else 'replies'} in thread")
    context = truncate(" · ".join(f for f in facts if f), 2000)

    sections, plain = _sections(parts.shown, parts.grouped)
    blocks: list[dict[str, Any]] = [bk.header(header), bk.context(context)]
    blocks.extend(bk.section(text) for text in sections)
    more = f"…{parts.hidden} more in thread" if parts.hidden else ""
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
            "message_count": parts.count,
            "rows": parts.rows,
            "rows_shown": len(parts.shown),
        },
    )
