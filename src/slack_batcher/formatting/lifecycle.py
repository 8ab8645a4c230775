"""Lifecycle merge: events about the same entity become one row showing its latest state.

An *entity* is what a thread key names (one alert, one deploy, one pull request, one JIRA
ticket; see :mod:`slack_batcher.model.thread_keys`; an alert without a fingerprint is also
told apart by its instance). Its events, oldest first, give a path
of states with repeats removed:

=============  ========================================
alert          firing → resolved ("after 3 min")
deployment     started → succeeded
pull request   opened → merged
JIRA ticket    To Do → In Progress → Done (the first event's ``previous_status`` leads)
=============  ========================================

The row shows the latest event with its state and the path. An entity of the
:data:`THING_KINDS` (alerts, deployments, builds) counts once however often it was reported
(an alert Alertmanager re-sent while firing is one alert): "×N" on a collapsed line counts
distinct alerts. Repeats of one state of a PR or ticket stay "×N" updates. Events without
an entity stay rows of their own. Pure functions: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from ..model.message import BatchableMessage, ContentType
from ..model.thread_keys import message_thread_key
from .collapse import Row, collapse_rows
from .items import ItemView

__all__ = [
    "THING_KINDS",
    "distinct_count",
    "entity_key",
    "entity_view",
    "fold_rows",
    "lead_state",
    "lifecycle_rows",
    "row_count",
    "row_group",
    "state_of",
    "state_path",
]

#: Kinds whose headers name the things ("3 alerts", "2 deployments"): counted by entity,
#: once however often reported. The others are counted as updates ("5 updates in acme/api").
THING_KINDS = frozenset(
    {
        ContentType.ALERT,
        ContentType.DEPLOYMENT,
        ContentType.CI_BUILD,
        ContentType.STANDUP,
        ContentType.BLOCKER,
    }
)

_STATE_KEYS: dict[ContentType, tuple[str, ...]] = {
    ContentType.PR_UPDATE: ("action", "state", "status"),
    ContentType.CI_BUILD: ("status", "conclusion", "state"),
}
_DEFAULT_STATE_KEYS = ("status", "state")
_STATE_LIMIT = 60


def _text(value: object) -> str:
    if isinstance(value, str):
        return value.strip()[:_STATE_LIMIT]
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""


def state_of(message: BatchableMessage) -> str:
    """Return the raw state an event reports ("firing", "merged", "In Progress"), or ``""``."""
    data = message.data
    for key in _STATE_KEYS.get(message.content_type, _DEFAULT_STATE_KEYS):
        state = _text(data.get(key))
        if state:
            pr = message.content_type is ContentType.PR_UPDATE
            return state.replace("_", " ") if pr else state
    return ""


def entity_key(message: BatchableMessage) -> str | None:
    """Return the entity an event is about, or None.

    The thread key, except that an alert without a fingerprint is told apart by its
    ``instance`` too: "HighErrorRate on api-1" and "on api-2" are two alerts.
    """
    key = message_thread_key(message)
    if key is None or message.content_type is not ContentType.ALERT:
        return key
    data = message.data
    if _text(data.get("fingerprint") or data.get("alert_id")):
        return key
    instance = _text(data.get("instance") or data.get("host"))
    return f"{key}:{instance.lower()}" if instance else key


def lead_state(first: BatchableMessage) -> str:
    """Return the state an entity's path starts from before its first event, or ``""``.

    A JIRA ticket's first event names where it came from (``previous_status``).
    """
    if first.content_type is ContentType.JIRA_UPDATE:
        return _text(first.data.get("previous_status") or first.data.get("from_status"))
    return ""


def state_path(messages: list[BatchableMessage]) -> list[str]:
    """Return the states an entity's events (oldest first) went through, repeats removed."""
    states: list[str] = []
    previous = lead_state(messages[0])
    if previous:
        states.append(previous)
    for message in messages:
        state = state_of(message)
        if state and (not states or states[-1].lower() != state.lower()):
            states.append(state)
    return states


def row_group(message: BatchableMessage, view: ItemView) -> object:
    """Return what an event's lifecycle row is keyed by, or None for an event of its own.

    The entity, label and title: a thread key may be cut at 200 characters.
    """
    entity = entity_key(message)
    return None if entity is None else (entity, view.label, view.title)


def distinct_count(pairs: Iterable[tuple[BatchableMessage, ItemView]]) -> int:
    """Return how many things *pairs* count: a :data:`THING_KINDS` entity once, others each."""
    keys: set[object] = set()
    alone = 0
    for message, view in pairs:
        key = row_group(message, view) if message.content_type in THING_KINDS else None
        if key is None:
            alone += 1
        else:
            keys.add(key)
    return len(keys) + alone


def row_count(row: Row) -> int:
    """Return how many things a row counts: its entities for THING_KINDS, else its events."""
    return row.times if row.content_type in THING_KINDS else len(row.messages)


def _merged(pairs: list[tuple[BatchableMessage, ItemView]]) -> Row:
    pairs.sort(key=lambda pair: pair[0].timestamp)  # stable: arrival order breaks ties
    messages = [m for m, _ in pairs]
    latest, view = pairs[-1]
    path = tuple(state_path(messages))
    if len(path) < 2:  # an alert re-sent while firing is one alert; a PR's updates, each
        return Row(
            tuple(messages), view, (), 1 if latest.content_type in THING_KINDS else len(messages)
        )
    return Row(tuple(messages), entity_view(latest, view, path), path, 1)


def entity_view(latest: BatchableMessage, view: ItemView, path: tuple[str, ...]) -> ItemView:
    """Return the view an entity's row shows: its *latest* event's *view*, for its *path*."""
    if len(path) >= 2 and latest.content_type is ContentType.JIRA_UPDATE:
        # The path already says "To Do → In Progress → Done": show the state reached.
        return replace(view, status=state_of(latest) or view.status)
    return view


def lifecycle_rows(pairs: Iterable[tuple[BatchableMessage, ItemView]]) -> list[Row]:
    """Return one row per entity (its events merged) and one per event without an entity.

    Rows come in order of each entity's first event as given.
    """
    groups: dict[object, list[tuple[BatchableMessage, ItemView]]] = {}
    for message, view in pairs:
        key = row_group(message, view)
        if key is None:
            key = ("event", message.id, len(groups))
        groups.setdefault(key, []).append((message, view))
    rows: list[Row] = []
    for group in groups.values():
        if len(group) == 1:
            message, view = group[0]
            rows.append(Row((message,), view))
        else:
            rows.append(_merged(group))
    return rows


def fold_rows(pairs: list[tuple[BatchableMessage, ItemView]]) -> list[Row] | None:
    """Return the rows of a post: lifecycles merged, then repeats collapsed.

    None when nothing folds (no two events share an entity or a line): the post then shows
    one line per event, exactly as without folding, at the cost of one pass.
    """
    if len(pairs) < 2:
        return None
    # Both folds need two events of one type with the same label and title: a set says.
    seen = {(m.content_type, v.label, v.title) for m, v in pairs}
    if len(seen) == len(pairs):
        return None
    return collapse_rows(lifecycle_rows(pairs))
