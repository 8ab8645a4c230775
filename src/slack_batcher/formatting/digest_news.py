"""What a live digest's thread reply says: only what changed since the digest's last news.

A digest's reply covers the items that joined it since its last reply (one reply per
reply interval, however many flushes that was). An alert is news when it is new to the
digest, or its state (firing, resolved) or severity differs from what the digest last said
about it (an alert is known by its fingerprint, or its name and instance); an alert that
is re-sent unchanged (Alertmanager repeats the whole group at each
``group_interval``) is not news, and a reply of re-sends only is not posted at all. Each
alert appears once in a reply, in its latest state. Any other event (a PR opened, a push,
a ticket moved) is news in itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..model.message import BatchableMessage, ContentType
from .lifecycle import entity_key, state_of

__all__ = ["news_items"]


def _said(message: BatchableMessage) -> tuple[str, str, str]:
    """Return what a reply says about an alert: its state, priority and severity."""
    severity = message.data.get("severity")
    return (
        state_of(message).lower(),
        str(message.priority or ""),
        str(severity).lower() if severity is not None else "",
    )


def news_items(
    before: Sequence[BatchableMessage], joined: Sequence[BatchableMessage]
) -> list[BatchableMessage]:
    """Return the items of *joined* that are news after *before* (a digest's earlier items).

    Order: as they joined; an alert reported more than once in *joined* is placed where it
    was first reported, in its latest state.
    """
    latest: dict[str, BatchableMessage] = {}
    for message in joined:
        key = _alert_key(message)
        if key is not None:
            latest[key] = message
    if not latest:  # no alert that can be re-sent: every item is news, nothing to look up
        return list(joined)
    said: dict[str, tuple[str, str, str]] = {}
    for message in before:
        key = _alert_key(message)
        if key is not None and key in latest:
            said[key] = _said(message)
    news: list[BatchableMessage] = []
    placed: set[str] = set()
    for message in joined:
        key = _alert_key(message)
        if key is None:
            news.append(message)
        elif key not in placed:
            placed.add(key)
            last = latest[key]
            if said.get(key) != _said(last):
                news.append(last)
    return news


def _alert_key(message: BatchableMessage) -> str | None:
    """Return an alert's identity, or None for an event that is news in itself.

    Only an alert that names its identity (a fingerprint, or an instance) can be re-sent:
    two alerts of one name and service without either are two events.
    """
    if message.content_type is not ContentType.ALERT:
        return None
    data = message.data
    if not any(data.get(k) for k in ("fingerprint", "alert_id", "instance", "host")):
        return None
    return entity_key(message)
