"""A live digest's running summary: each flushed batch folded in, not every item re-rendered.

:func:`~.digest_summary.format_digest_summary` renders a summary from all of a digest's
items: item views, lifecycle merge, collapse, sort. A live digest's summary is rendered
again at every flush, so re-rendering costs more with each flush of a storm. A
:class:`DigestState` keeps what that render works out — the entities (lifecycle rows),
the collapsed rows, the counts, the time span — and folds each new batch into it: the cost
of a flush grows with the batch, and the render reads only the rows shown. The message is
the same, byte for byte, as :func:`format_digest_summary` of the same items in the same
arrival order (``tests/test_digest_state.py`` checks this for any sequence of batches).

Order. ``format_digest_summary`` sorts the items by time, stably: an item's place is its
*key*, (timestamp, arrival number). An entity's place is its first item's key; a
collapsed row's items are ordered by (timestamp, entity's place, arrival number), and the
row's place is its first entity's. Rows are shown by (−urgency, row's place).

Costs. Adding an item to an entity costs O(1) when it is the entity's newest (the usual
case); an item older than the entity's newest rebuilds that entity (O(its items)). A row
that gains an entity is updated in O(1); a row that loses one (its entity changed state:
firing → resolved) is rebuilt from its entities once per fold, O(its entities). Rows are
kept sorted (``bisect``: O(log n) comparisons plus a list move).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Mapping, Sequence
from datetime import datetime
from itertools import count
from typing import Any

from ..model.message import BatchableMessage, ContentType
from .digest_rows import Entity, Item, ItemKey, Row
from .digest_summary import DEFAULT_SUMMARY_ROWS, SummaryParts, states_text, summary_message
from .items import DEFAULT_ITEM_FORMATTERS, ItemFormatter, ItemView
from .lifecycle import THING_KINDS, row_group
from .message import SlackMessage
from .multi import worded_header
from .options import FormatOptions

__all__ = ["DigestState"]


class DigestState:
    """The running summary of one live digest: fold batches in, render the parent post.

    Built for one set of *options* and *item_formatters* (the views it keeps were rendered
    with them). :meth:`fold` takes the digest's new items in arrival order;
    :meth:`render` returns what :func:`~.digest_summary.format_digest_summary` returns for
    every item folded so far.
    """

    def __init__(
        self,
        options: FormatOptions | None = None,
        item_formatters: Mapping[ContentType, ItemFormatter] = DEFAULT_ITEM_FORMATTERS,
    ) -> None:
        self.options = options if options is not None else FormatOptions()
        self.item_formatters = item_formatters
        self.count = 0
        self.last: BatchableMessage | None = None
        self._start: datetime | None = None
        self._end: datetime | None = None
        self._kinds: dict[ContentType, list[Any]] = {}  # kind → [items, first key]
        self._data_scopes: set[str] = set()
        self._data_scopes_lower: set[str] = set()
        self._view_scopes: set[str] = set()
        self._view_scopes_lower: set[str] = set()
        self._authors: set[str | None] = set()
        self._entities: dict[object, Entity] = {}
        self._states: dict[str, list[ItemKey]] = {}  # lower-cased state → its entities' places
        self._rows: dict[tuple[object, ...], Row] = {}
        self._order: list[tuple[int, ItemKey, int]] = []  # (−urgency, row's place, row id), sorted
        self._by_id: dict[int, Row] = {}
        self._ids = count()

    def fold(self, messages: Sequence[BatchableMessage]) -> None:
        """Add *messages* (the digest's next items, in arrival order) to the summary.

        Their views are rendered first: a failing item formatter leaves the state as it was.
        """
        options = self.options
        views = [self.item_formatters[m.content_type](m, options) for m in messages]
        touched: dict[int, Row] = {}
        for message, view in zip(messages, views, strict=True):
            key: ItemKey = (message.timestamp, self.count)
            self.count += 1
            self.last = message
            self._facts(key, message, view)
            self._place((key, message, view), touched)
        for row in touched.values():
            row.refresh()
            self._sort(row)

    def _facts(self, key: ItemKey, message: BatchableMessage, view: ItemView) -> None:
        """Fold the header and context facts: times, kinds, scopes, authors."""
        when = key[0]
        if self._start is None or when < self._start:
            self._start = when
        if self._end is None or when >= self._end:
            self._end = when
        kind = self._kinds.get(message.content_type)
        if kind is None:
            kind = self._kinds[message.content_type] = [0, key]
        else:
            kind[1] = min(kind[1], key)
        if message.content_type not in THING_KINDS:  # an update counts; a thing, once (_place)
            kind[0] += 1
        data = message.data
        value = data.get("repository") or data.get("project") or data.get("team")
        if value:
            scope = value if isinstance(value, str) else str(value)
            self._data_scopes.add(scope)
            self._data_scopes_lower.add(scope.lower())
        self._view_scopes.add(view.scope)
        self._view_scopes_lower.add(view.scope.lower())
        self._authors.add(message.author)

    def _place(self, item: Item, touched: dict[int, Row]) -> None:
        """Add one item to its entity, and the entity to its row."""
        key, message, view = item
        group = row_group(message, view)
        entity = self._entities.get(group) if group is not None else None
        if entity is None:
            if message.content_type in THING_KINDS:
                self._kinds[message.content_type][0] += 1
            entity = Entity(item)
            self._entities[group if group is not None else ("event", key)] = entity
            self._enter_state(entity)
            self._join(entity, touched)
            return
        state, first, times = entity.state(), entity.first, entity.times
        row_key_before = entity.row_key()
        newest = entity.add(item)
        if entity.state() != state or entity.first != first:
            self._leave_state(state, first)
            self._enter_state(entity)
        row = entity.row
        assert row is not None
        touched[id(row)] = row
        if newest and entity.row_key() == row_key_before:
            row.grew(entity, times)
        else:  # it reads another line now, or was rebuilt: leave the row, join the right one
            row.leave(entity)
            self._join(entity, touched)

    def _join(self, entity: Entity, touched: dict[int, Row]) -> None:
        key = entity.row_key()
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = Row(key)
        row.join(entity)
        touched[id(row)] = row

    def _enter_state(self, entity: Entity) -> None:
        insort(self._states.setdefault(entity.state(), []), entity.first)

    def _leave_state(self, state: str, first: ItemKey) -> None:
        places = self._states[state]
        del places[bisect_left(places, first)]
        if not places:
            del self._states[state]

    def _sort(self, row: Row) -> None:
        """Put *row* in its place in the order shown (or drop it when it has no entity)."""
        if row.sort_key is not None:
            del self._order[bisect_left(self._order, row.sort_key)]
            del self._by_id[row.sort_key[2]]
            row.sort_key = None
        if not row.entities:
            if self._rows.get(row.key) is row:
                del self._rows[row.key]
            return
        assert row.first is not None
        row.sort_key = (-row.urgency(), row.first, next(self._ids))
        insort(self._order, row.sort_key)
        self._by_id[row.sort_key[2]] = row

    def render(
        self,
        *,
        replies: int = 0,
        by_scope: bool = False,
        max_rows: int = DEFAULT_SUMMARY_ROWS,
        channel: str | None = None,
    ) -> SlackMessage:
        """Return the parent post of a digest of the items folded so far.

        The arguments are :func:`~.digest_summary.format_digest_summary`'s.
        """
        if self._start is None or self._end is None:
            raise ValueError("messages: a digest summary needs at least one item")
        shown = [self._by_id[key[2]] for key in self._order[: max(1, max_rows)]]
        kinds = sorted(self._kinds.items(), key=lambda kind: kind[1][1])
        things = sum(n for _, (n, _) in kinds)
        return summary_message(
            SummaryParts(
                count=self.count,
                header=self._header({k for k, _ in kinds}, things),
                kinds=[(k, n) for k, (n, _) in kinds],
                states=self._states_text(),
                start=self._start,
                end=self._end,
                shown=[(row.scope(), row.lines(self.options)) for row in shown],
                grouped=by_scope,
                hidden=things - sum(row.things() for row in shown),
                rows=len(self._order),
            ),
            self.options,
            replies=replies,
            channel=channel,
        )

    def _states_text(self) -> str:
        states = [
            (-len(places), places[0], state) for state, places in self._states.items() if state
        ]
        states.sort()
        total = sum(-n for n, _, _ in states)
        return states_text([(state, -n) for n, _, state in states], total)

    def _header(self, kinds: set[ContentType], things: int) -> str:
        """Return the raw header counting *things*, as :func:`~.digest.header_text` words it."""
        scopes, lower = self._data_scopes, self._data_scopes_lower
        if not scopes and "" not in self._view_scopes:
            scopes, lower = self._view_scopes, self._view_scopes_lower
        return worded_header(things, kinds, scopes, len(lower), self._authors)
