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
from .collapse import (
    SHOWN_PLACES,
    Notes,
    add_note,
    compound_lines,
    note_of,
    note_text,
    places_text,
    span_path_text,
    where_of,
)
from .digest_summary import DEFAULT_SUMMARY_ROWS, SummaryParts, states_text, summary_message
from .items import DEFAULT_ITEM_FORMATTERS, ItemFormatter, ItemView
from .lifecycle import THING_KINDS, entity_view, lead_state, row_group, state_of
from .message import SlackMessage
from .multi import worded_header
from .options import FormatOptions
from .render import item_lines

__all__ = ["DigestState"]

#: An item's place in the summary's order: (timestamp, arrival number).
_Key = tuple[datetime, int]
#: An item's place within a collapsed row: (timestamp, its entity's place, arrival number).
_RowKey = tuple[datetime, _Key, int]
_Item = tuple[_Key, BatchableMessage, ItemView]


class _Entity:
    """One lifecycle row: the items about one entity (or one item without an entity)."""

    __slots__ = (
        "best",
        "items",
        "notes",
        "path",
        "places",
        "row",
        "states",
        "times",
        "urgencies",
        "view",
    )

    def __init__(self, item: _Item) -> None:
        self.row: _Row | None = None
        self._start(item)

    def _start(self, item: _Item) -> None:
        self.items: list[_Item] = []
        self.states: list[str] = []
        self.path: tuple[str, ...] = ()
        self.view: ItemView = item[2]
        self.times = 0
        # (score, key, message): the first item with the top priority score.
        self.best: tuple[int, _Key, BatchableMessage] | None = None
        # raw state → priority score → items
        self.urgencies: dict[str, dict[int, int]] = {}
        # place → key of the first item there
        self.places: dict[str, _Key] = {}
        # the items' notes (a collapsed line shows what they share)
        self.notes: Notes | None = None
        lead = lead_state(item[1])
        if lead:
            self.states.append(lead)
        self._take(item)

    @property
    def first(self) -> _Key:
        """The entity's place: its first item's key."""
        return self.items[0][0]

    @property
    def latest(self) -> BatchableMessage:
        """The entity's newest item."""
        return self.items[-1][1]

    @property
    def ended(self) -> datetime:
        """When the entity's newest item happened."""
        return self.items[-1][0][0]

    def row_key(self) -> tuple[object, ...]:
        """Return what must match for two entities to share a row (as ``Row.key``)."""
        view = self.view
        return (self.latest.content_type, view.label, view.title, view.status, self.path)

    def state(self) -> str:
        """Return the entity's state, lower-cased, as the "now:" counts read it."""
        return state_of(self.latest).lower()

    def add(self, item: _Item) -> bool:
        """Add *item*; return True when it was the newest (else the entity was rebuilt)."""
        if item[0] > self.items[-1][0]:
            self._take(item)
            return True
        items = self.items
        insort(items, item, key=lambda i: i[0])
        self._start(items[0])
        for rest in items[1:]:
            self._take(rest)
        return False

    def _take(self, item: _Item) -> None:
        key, message, view = item
        self.items.append(item)
        states = self.states
        state = state_of(message)
        if state and (not states or states[-1].lower() != state.lower()):
            states.append(state)
        # One event is a row of its own (a JIRA ticket's first "from" state shows in its view).
        if len(states) >= 2 and len(self.items) > 1:
            self.path = tuple(states)
            self.times = 1
        else:  # an alert re-sent is one alert; a PR's repeated updates are each counted
            self.times = 1 if message.content_type in THING_KINDS else len(self.items)
        self.view = entity_view(message, view, self.path)
        score = message.get_priority_score()
        if self.best is None or score > self.best[0]:
            self.best = (score, key, message)
        scores = self.urgencies.setdefault(state, {})
        scores[score] = scores.get(score, 0) + 1
        place = where_of(message)
        if place:
            self.places.setdefault(place, key)
        self.notes = add_note(self.notes, note_of(message))


def _row_key(key: _Key, entity: _Key) -> _RowKey:
    return (key[0], entity, key[1])


class _Row:
    """One collapsed row: the entities that read the same line, and what it shows."""

    __slots__ = (
        "best",
        "count",
        "dirty",
        "entities",
        "first",
        "key",
        "latest",
        "newest",
        "notes",
        "places",
        "shown_places",
        "sort_key",
        "times",
        "urgencies",
    )

    def __init__(self, key: tuple[object, ...]) -> None:
        self.key = key
        self.entities: dict[int, _Entity] = {}
        self.sort_key: tuple[int, _Key, int] | None = None
        self.dirty = False
        self._reset()

    def _reset(self) -> None:
        self.count = 0
        self.times = 0
        self.first: _Key | None = None
        self.latest: _Entity | None = None  # the entity holding the row's last item
        self.newest: _Entity | None = None  # the first entity that ends last (its view shows)
        self.best: tuple[int, _RowKey, BatchableMessage] | None = None
        self.urgencies: dict[str, dict[int, int]] = {}
        self.places: dict[str, _RowKey] = {}
        self.shown_places: list[tuple[_RowKey, str]] = []  # the first shown, in order
        self.notes: Notes | None = None

    def join(self, entity: _Entity) -> None:
        """Add *entity*, all its items."""
        self.entities[id(entity)] = entity
        entity.row = self
        if self.dirty:
            return
        self.count += len(entity.items)
        self.times += entity.times
        first = entity.first
        if self.first is None or first < self.first:
            self.first = first
        self._ended(entity)
        assert entity.best is not None
        score, key, message = entity.best
        self._best(score, _row_key(key, first), message)
        for state, scores in entity.urgencies.items():
            mine = self.urgencies.setdefault(state, {})
            for score, n in scores.items():
                mine[score] = mine.get(score, 0) + n
        for place, key in entity.places.items():
            self._place(place, _row_key(key, first))
        if entity.notes is not None:
            self.notes = add_note(self.notes, *entity.notes)

    def grew(self, entity: _Entity, times_before: int) -> None:
        """Account for the newest item just added to *entity*, one of this row's."""
        if self.dirty:
            return
        key, message, _ = entity.items[-1]
        self.count += 1
        self.times += entity.times - times_before
        self._ended(entity)
        score = message.get_priority_score()
        row_key = _row_key(key, entity.first)
        self._best(score, row_key, message)
        scores = self.urgencies.setdefault(state_of(message), {})
        scores[score] = scores.get(score, 0) + 1
        place = where_of(message)
        if place:
            self._place(place, row_key)
        self.notes = add_note(self.notes, note_of(message))

    def leave(self, entity: _Entity) -> None:
        """Remove *entity*: the row is rebuilt by :meth:`refresh`."""
        del self.entities[id(entity)]
        entity.row = None
        self.dirty = True

    def refresh(self) -> None:
        """Rebuild the row from its entities after one left."""
        if not self.dirty:
            return
        self.dirty = False
        self._reset()
        for entity in list(self.entities.values()):
            self.join(entity)

    def _ended(self, entity: _Entity) -> None:
        latest, newest = self.latest, self.newest
        if latest is None or (entity.ended, entity.first) > (latest.ended, latest.first):
            self.latest = entity
        if newest is None or (
            entity.ended > newest.ended
            or (entity.ended == newest.ended and entity.first <= newest.first)
        ):
            self.newest = entity

    def _best(self, score: int, key: _RowKey, message: BatchableMessage) -> None:
        best = self.best
        if best is None or score > best[0] or (score == best[0] and key < best[1]):
            self.best = (score, key, message)

    def _place(self, place: str, key: _RowKey) -> None:
        known = self.places.get(place)
        if known is not None and known <= key:
            return
        self.places[place] = key
        shown = [p for p in self.shown_places if p[1] != place]
        shown.append((key, place))
        shown.sort()
        self.shown_places = shown[:SHOWN_PLACES]

    # -- what the summary reads ----------------------------------------------------------------

    def last_item(self) -> BatchableMessage:
        """Return the row's last item in its order (its state is the row's)."""
        assert self.latest is not None
        return self.latest.latest

    def view(self) -> ItemView:
        """Return the view the row shows (its newest entity's)."""
        assert self.newest is not None
        return self.newest.view

    def things(self) -> int:
        """Return what the row counts: its alerts (deployments, …) by entity, else its items."""
        return self.times if self.key[0] in THING_KINDS else self.count

    def urgency(self) -> int:
        """Return the top priority score among the items in the row's state."""
        scores = self.urgencies[state_of(self.last_item())]
        return max(score for score, n in scores.items() if n)

    def scope(self) -> str:
        """Return the scope the row is grouped under in a channel-wide summary."""
        return self.view().scope or self.last_item().get_scope()

    def lines(self, options: FormatOptions) -> tuple[str, str]:
        """Return the row's (mrkdwn, plain) lines, as :func:`~.collapse.row_lines` would."""
        latest = self.last_item()
        view = self.view()
        if self.count == 1:
            return item_lines(latest, view, options)
        assert self.newest is not None and self.best is not None and self.first is not None
        assert self.latest is not None
        path = self.newest.path
        strongest = latest if path else self.best[2]
        started, ended = self.first[0], self.latest.ended
        alone = self.key[0] is ContentType.ALERT
        places = places_text(
            [p for _, p in self.shown_places], len(self.places), self.times, alone=alone
        )
        path_text = span_path_text(path, started, ended)
        note = note_text(self.notes)
        return compound_lines(
            strongest, view, self.times, path_text, places, started, ended, options, note
        )


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
        self._entities: dict[object, _Entity] = {}
        self._states: dict[str, list[_Key]] = {}  # lower-cased state → its entities' places
        self._rows: dict[tuple[object, ...], _Row] = {}
        self._order: list[tuple[int, _Key, int]] = []  # (−urgency, row's place, row id), sorted
        self._by_id: dict[int, _Row] = {}
        self._ids = count()

    def fold(self, messages: Sequence[BatchableMessage]) -> None:
        """Add *messages* (the digest's next items, in arrival order) to the summary.

        Their views are rendered first: a failing item formatter leaves the state as it was.
        """
        options = self.options
        views = [self.item_formatters[m.content_type](m, options) for m in messages]
        touched: dict[int, _Row] = {}
        for message, view in zip(messages, views, strict=True):
            key: _Key = (message.timestamp, self.count)
            self.count += 1
            self.last = message
            self._facts(key, message, view)
            self._place((key, message, view), touched)
        for row in touched.values():
            row.refresh()
            self._sort(row)

    def _facts(self, key: _Key, message: BatchableMessage, view: ItemView) -> None:
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

    def _place(self, item: _Item, touched: dict[int, _Row]) -> None:
        """Add one item to its entity, and the entity to its row."""
        key, message, view = item
        group = row_group(message, view)
        entity = self._entities.get(group) if group is not None else None
        if entity is None:
            if message.content_type in THING_KINDS:
                self._kinds[message.content_type][0] += 1
            entity = _Entity(item)
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

    def _join(self, entity: _Entity, touched: dict[int, _Row]) -> None:
        key = entity.row_key()
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = _Row(key)
        row.join(entity)
        touched[id(row)] = row

    def _enter_state(self, entity: _Entity) -> None:
        insort(self._states.setdefault(entity.state(), []), entity.first)

    def _leave_state(self, state: str, first: _Key) -> None:
        places = self._states[state]
        del places[bisect_left(places, first)]
        if not places:
            del self._states[state]

    def _sort(self, row: _Row) -> None:
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
