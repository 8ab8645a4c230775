"""A live digest's rows: the entities (lifecycle rows) and collapsed rows a DigestState keeps.

Split from :mod:`.digest_state`, which folds batches into these and renders them; the order
and costs are described there.
"""

from __future__ import annotations

from bisect import insort
from datetime import datetime

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
from .items import ItemView
from .lifecycle import THING_KINDS, entity_view, lead_state, state_of
from .options import FormatOptions
from .render import item_lines

__all__ = ["Entity", "Item", "ItemKey", "Row", "RowKey", "place_in_row"]

#: An item's place in the summary's order: (timestamp, arrival number).
ItemKey = tuple[datetime, int]
#: An item's place within a collapsed row: (timestamp, its entity's place, arrival number).
RowKey = tuple[datetime, ItemKey, int]
Item = tuple[ItemKey, BatchableMessage, ItemView]


class Entity:
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

    def __init__(self, item: Item) -> None:
        self.row: Row | None = None
        self._start(item)

    def _start(self, item: Item) -> None:
        self.items: list[Item] = []
        self.states: list[str] = []
        self.path: tuple[str, ...] = ()
        self.view: ItemView = item[2]
        self.times = 0
        # (score, key, message): the first item with the top priority score.
        self.best: tuple[int, ItemKey, BatchableMessage] | None = None
        # raw state → priority score → items
        self.urgencies: dict[str, dict[int, int]] = {}
        # place → key of the first item there
        self.places: dict[str, ItemKey] = {}
        # the items' notes (a collapsed line shows what they share)
        self.notes: Notes | None = None
        lead = lead_state(item[1])
        if lead:
            self.states.append(lead)
        self._take(item)

    @property
    def first(self) -> ItemKey:
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

    def add(self, item: Item) -> bool:
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

    def _take(self, item: Item) -> None:
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


def place_in_row(key: ItemKey, entity: ItemKey) -> RowKey:
    """Return an item's place within a collapsed row, from its own place and its entity's."""
    return (key[0], entity, key[1])


class Row:
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
        self.entities: dict[int, Entity] = {}
        self.sort_key: tuple[int, ItemKey, int] | None = None
        self.dirty = False
        self._reset()

    def _reset(self) -> None:
        self.count = 0
        self.times = 0
        self.first: ItemKey | None = None
        self.latest: Entity | None = None  # the entity holding the row's last item
        self.newest: Entity | None = None  # the first entity that ends last (its view shows)
        self.best: tuple[int, RowKey, BatchableMessage] | None = None
        self.urgencies: dict[str, dict[int, int]] = {}
        self.places: dict[str, RowKey] = {}
        self.shown_places: list[tuple[RowKey, str]] = []  # the first shown, in order
        self.notes: Notes | None = None

    def join(self, entity: Entity) -> None:
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
        self._best(score, place_in_row(key, first), message)
        for state, scores in entity.urgencies.items():
            mine = self.urgencies.setdefault(state, {})
            for score, n in scores.items():
                mine[score] = mine.get(score, 0) + n
        for place, key in entity.places.items():
            self._place(place, place_in_row(key, first))
        if entity.notes is not None:
            self.notes = add_note(self.notes, *entity.notes)

    def grew(self, entity: Entity, times_before: int) -> None:
        """Account for the newest item just added to *entity*, one of this row's."""
        if self.dirty:
            return
        key, message, _ = entity.items[-1]
        self.count += 1
        self.times += entity.times - times_before
        self._ended(entity)
        score = message.get_priority_score()
        row_key = place_in_row(key, entity.first)
        self._best(score, row_key, message)
        scores = self.urgencies.setdefault(state_of(message), {})
        scores[score] = scores.get(score, 0) + 1
        place = where_of(message)
        if place:
            self._place(place, row_key)
        self.notes = add_note(self.notes, note_of(message))

    def leave(self, entity: Entity) -> None:
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

    def _ended(self, entity: Entity) -> None:
        latest, newest = self.latest, self.newest
        if latest is None or (entity.ended, entity.first) > (latest.ended, latest.first):
            self.latest = entity
        if newest is None or (
            entity.ended > newest.ended
            or (entity.ended == newest.ended and entity.first <= newest.first)
        ):
            self.newest = entity

    def _best(self, score: int, key: RowKey, message: BatchableMessage) -> None:
        best = self.best
        if best is None or score > best[0] or (score == best[0] and key < best[1]):
            self.best = (score, key, message)

    def _place(self, place: str, key: RowKey) -> None:
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
