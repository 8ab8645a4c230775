"""Rows of a multi-item message or a live-digest summary: one line per event, entity or repeat.

A :class:`Row` covers one or more events. :func:`collapse_rows` folds rows that read the
same — same content type, label, title, status and state path — into one line::

    HighErrorRate — firing (warning) ×4 · host-01, host-07, +2 · 14:10–14:12

Nothing is dropped: a row keeps every message it covers (``messages``), so counts and
message ids stay exact. :func:`row_lines` renders a row as safe mrkdwn and plain text; a
row of one event renders exactly like :func:`~.render.item_lines`, so messages without
repeats look as before. Pure functions: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from ..model.message import BatchableMessage, ContentType
from .escape import clean_short
from .items import ItemView
from .options import FormatOptions
from .render import item_lines, time_span

__all__ = [
    "Notes",
    "Row",
    "add_note",
    "collapse_rows",
    "compound_lines",
    "note_of",
    "note_text",
    "path_text",
    "places_text",
    "row_lines",
    "span_path_text",
    "where_of",
]

#: Places ("host-01") a digest's parent names on a collapsed line before "+N".
SHOWN_PLACES = 4
#: Places a batch's own post (a thread reply) names: every one, up to this many.
ALL_PLACES = 60
#: The longest summary annotation a collapsed alert line carries.
_NOTE_LIMIT = 120
_PLACE_LIMIT = 40
_PLACE_KEYS = ("instance", "host", "hostname", "pod", "node", "region", "environment")


def where_of(message: BatchableMessage) -> str:
    """Return where an event happened (instance, host, pod, …), else its author, else ``""``."""
    data = message.data
    for key in _PLACE_KEYS:
        value = data.get(key)
        if value is None:
            continue
        if type(value) is str:  # the common case, without the conversions below
            text = value.strip()
            if text:
                return text
        elif isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()
    return message.author or ""


#: A row's notes so far: (their longest common prefix, whether they are all equal).
Notes = tuple[str, bool]
_MIN_NOTE = 8


def note_of(message: BatchableMessage) -> str:
    """Return an event's raw note for a collapsed line: an alert's summary, else ``""``."""
    if message.content_type is not ContentType.ALERT:
        return ""
    value = message.data.get("description")
    return value.strip()[:500] if isinstance(value, str) else ""


def add_note(notes: Notes | None, note: str, same: bool = True) -> Notes:
    """Return *notes* with one more *note* (or the notes of another row: *same* theirs)."""
    if notes is None:
        return note, same
    prefix, equal = notes
    if note == prefix:
        return prefix, equal and same
    size = 0
    for a, b in zip(prefix, note, strict=False):
        if a != b:
            break
        size += 1
    return prefix[:size], False


def note_text(notes: Notes | None) -> str:
    """Return the note a row shows, escaped: the summary all its events share.

    When they differ, what they share of it up to a word ("5xx ratio above 5% on …"); else
    ``""``.
    """
    if notes is None:
        return ""
    prefix, equal = notes
    if not equal:
        cut = prefix.rfind(" ")
        prefix = prefix[:cut].rstrip(" ,;:-") + " …" if cut >= _MIN_NOTE else ""
    return clean_short(prefix, _NOTE_LIMIT) if prefix.strip() else ""


def _row_notes(messages: Iterable[BatchableMessage]) -> Notes | None:
    notes: Notes | None = None
    for message in messages:
        notes = add_note(notes, note_of(message))
    return notes


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a multi-item message or live-digest summary.

    ``messages`` are every event the line covers, oldest first; ``view`` is the latest
    event's view (its state is the one shown). ``path`` lists the states an entity went
    through when there was more than one ("firing", "resolved"); ``times`` is the number
    shown as "×N" (repeats of one state, or entities collapsed together).
    """

    messages: tuple[BatchableMessage, ...]
    view: ItemView
    path: tuple[str, ...] = ()
    times: int = 1

    @property
    def latest(self) -> BatchableMessage:
        """The newest event of the row: its state is the row's state."""
        return self.messages[-1]

    @property
    def priority_score(self) -> int:
        """The highest priority score among the row's events."""
        return max(m.get_priority_score() for m in self.messages)

    @property
    def started(self) -> datetime:
        """When the row's first event happened."""
        return self.messages[0].timestamp

    @property
    def ended(self) -> datetime:
        """When the row's last event happened."""
        return self.messages[-1].timestamp

    @property
    def content_type(self) -> ContentType:
        """The content type of the row's events (the latest one's)."""
        return self.latest.content_type

    def key(self) -> tuple[object, ...]:
        """Return what must match for two rows to collapse into one."""
        view = self.view
        return (self.content_type, view.label, view.title, view.status, self.path)


def single_row(message: BatchableMessage, view: ItemView) -> Row:
    """Return the row of one event."""
    return Row((message,), view)


def collapse_rows(rows: Iterable[Row]) -> list[Row]:
    """Fold rows with the same :meth:`Row.key` into one, in order of each key's first row.

    The merged row keeps every message (oldest first), the newest view, and counts
    ``times`` as the sum of the rows' ``times``.
    """
    merged: dict[tuple[object, ...], list[Row]] = {}
    for row in rows:
        merged.setdefault(row.key(), []).append(row)
    result: list[Row] = []
    for group in merged.values():
        if len(group) == 1:
            result.append(group[0])
            continue
        messages = sorted((m for row in group for m in row.messages), key=lambda m: m.timestamp)
        newest = max(group, key=lambda row: row.ended)
        result.append(
            Row(tuple(messages), newest.view, newest.path, sum(row.times for row in group))
        )
    return result


def places_text(
    first: list[str], distinct: int, times: int, shown: int = SHOWN_PLACES, alone: bool = False
) -> str:
    """Return the places of a row: the *first* *shown* it names, "+N" for the other *distinct*.

    ``""`` for one place and one event, unless *alone* (an alert: its instance is not in
    its title, and a compound line names no author).
    """
    if distinct < 1 or (distinct == 1 and times <= 1 and not alone):
        return ""
    named = ", ".join(clean_short(p, _PLACE_LIMIT) for p in first[:shown])
    extra = distinct - min(shown, len(first))
    return f"{named}, +{extra}" if extra > 0 else named


def _places(row: Row, shown: int) -> str:
    seen: list[str] = []
    for message in row.messages:
        place = where_of(message)
        if place and place not in seen:
            seen.append(place)
    alone = row.content_type is ContentType.ALERT
    return places_text(seen, len(seen), row.times, shown, alone)


def _duration(started: datetime, ended: datetime) -> str:
    minutes = round((ended - started).total_seconds() / 60)
    if minutes < 1:
        return ""
    if minutes < 120:
        return f" after {minutes} min"
    return f" after {minutes / 60:.1f} h"


def path_text(row: Row) -> str:
    """Return the row's state path, "firing → resolved after 3 min" (raw; escape to show)."""
    return span_path_text(row.path, row.started, row.ended)


def span_path_text(path: tuple[str, ...], started: datetime, ended: datetime) -> str:
    """Return *path* with the time from *started* to *ended*: "firing → resolved after 3 min"."""
    if len(path) < 2:
        return ""
    return " → ".join(path) + _duration(started, ended)


def row_lines(
    row: Row, options: FormatOptions, shown_places: int = SHOWN_PLACES
) -> tuple[str, str]:
    """Return the row's line (mrkdwn) and its fallback-text line.

    A row of one event is :func:`~.render.item_lines`'s line. Otherwise the latest event's
    line (compact: no author or time) gains "×N" (the distinct entities it covers), an
    alert's summary annotation, the state path, the places (the first *shown_places*, then
    "+N") and the time span:
    ``• HighErrorRate — *firing (warning)* ×4 — 5xx above 5% · api-1, api-7, +2 · 14:10–14:12``.
    """
    latest = row.latest
    if len(row.messages) == 1:
        return item_lines(latest, row.view, options)
    # An entity's marker is its latest state's ("resolved" is not urgent); repeats, the top one.
    strongest = latest if row.path else max(row.messages, key=lambda m: m.get_priority_score())
    path, places = path_text(row), _places(row, shown_places)
    note = note_text(_row_notes(row.messages))
    return compound_lines(
        strongest, row.view, row.times, path, places, row.started, row.ended, options, note
    )


#: The compact copy of each options object seen (id -> (options, copy)): replace() validates.
_COMPACT: dict[int, tuple[FormatOptions, FormatOptions]] = {}


def _compact(options: FormatOptions) -> FormatOptions:
    found = _COMPACT.get(id(options))
    if found is not None and found[0] is options:
        return found[1]
    if len(_COMPACT) >= 64:
        _COMPACT.clear()
    compact = options.replace(compact=True)
    _COMPACT[id(options)] = (options, compact)
    return compact


def compound_lines(
    strongest: BatchableMessage,
    view: ItemView,
    times: int,
    path: str,
    places: str,
    started: datetime,
    ended: datetime,
    options: FormatOptions,
    note: str = "",
) -> tuple[str, str]:
    """Return the lines of a row of several events (see :func:`row_lines`) from its parts.

    *strongest* is the event whose marker shows, *path* the raw :func:`path_text` and
    *places* the :func:`places_text`, *note* the :func:`note_text`.
    """
    compact = options if options.compact else _compact(options)
    if view.place:  # the row names its places itself, not the strongest event's alone
        if type(view) is ItemView:  # its fields by position: replace() inspects the class
            view = ItemView(
                view.title, view.url, view.label, view.status, view.scope, view.detail, view.fields
            )
        else:
            view = replace(view, place="")
    line, plain = item_lines(strongest, view, compact)
    extras: list[str] = []
    if times > 1:
        line += f" ×{times}"
        plain += f" ×{times}"
    if note:
        line += f" — {note}"
        plain += f" — {note}"
    if path:
        extras.append(clean_short(path, 200))
    if places:
        extras.append(places)
    if not options.compact:
        span = time_span(started, ended)
        extras.append(span.split(", ", 1)[-1].removesuffix(" UTC"))
    if extras:
        line += " · " + " · ".join(extras)
        plain += " · " + " · ".join(extras[:2])
    return line, plain
