"""The Redis store's mutes and muted events, shared by every instance on the server.

``P:mutes`` is a hash of mute id → the mute as JSON; ``P:muted`` the list of muted events
(JSON, oldest first); ``P:muted_counts`` a hash of ``<mute id>`` US ``<channel>`` → events
kept. A record is one MULTI (the events and their counts together).

The ingest path asks :meth:`RedisMutes.active` per request; it reads the mutes hash (one
``HGETALL`` of a handful of fields) at most once per *refresh_seconds* (default 1 s), so a
submit keeps its single round trip under load. A mute made or removed through one instance
applies on the others within that second, and on its own instance at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ...model.mute import Mute, MutedEvent
from ..codec import dump_json

if TYPE_CHECKING:
    from .connect import RedisConnection

__all__ = ["RedisMutes"]

_SEP = "\x1f"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisMutes:
    """A :class:`~slack_batcher.store.base.Mutes` in Redis."""

    def __init__(self, connection: RedisConnection, refresh_seconds: float = 1.0) -> None:
        self.connection = connection
        self.refresh_seconds = refresh_seconds
        self._cached: tuple[float, list[Mute]] | None = None
        self._mutes = connection.key("mutes")
        self._events = connection.key("muted")
        self._counts = connection.key("muted_counts")

    def add(self, mute: Mute) -> None:
        """Insert *mute* (or replace the one with its id)."""
        client = self.connection.client
        self.connection.call(client.hset, self._mutes, mute.id, dump_json(mute.to_dict()))
        self._cached = None

    def remove(self, mute_id: str) -> Mute | None:
        """Delete a mute; return it, or None when unknown. Its events stay."""
        pipe = self.connection.client.pipeline(transaction=True)
        pipe.hget(self._mutes, mute_id)
        pipe.hdel(self._mutes, mute_id)
        raw, _ = self.connection.call(pipe.execute)
        self._cached = None
        return Mute.from_dict(json.loads(_text(raw))) if raw is not None else None

    def listed(self) -> list[Mute]:
        """Return every kept mute, oldest first."""
        raw: dict[Any, Any] = self.connection.call(self.connection.client.hgetall, self._mutes)
        mutes = [Mute.from_dict(json.loads(_text(body))) for body in raw.values()]
        mutes.sort(key=lambda m: (m.created_at, m.id))
        self._cached = (time.monotonic(), mutes)
        return list(mutes)

    def active(self, now: datetime) -> list[Mute]:
        """Return the mutes that hold at *now*, oldest first (read at most once a refresh)."""
        cached = self._cached
        if cached is None or time.monotonic() - cached[0] >= self.refresh_seconds:
            return [m for m in self.listed() if m.active(now)]
        return [m for m in cached[1] if m.active(now)]

    def record(self, events: Sequence[MutedEvent]) -> None:
        """Keep *events* and count them, in one MULTI."""
        if not events:
            return
        pipe = self.connection.client.pipeline(transaction=True)
        pipe.rpush(self._events, *[dump_json(e.to_dict()) for e in events])
        for event in events:
            pipe.hincrby(self._counts, f"{event.mute_id}{_SEP}{event.channel}", 1)
        self.connection.call(pipe.execute)

    def counts(self) -> dict[tuple[str, str], int]:
        """Return the events kept per (mute id, channel)."""
        raw: dict[Any, Any] = self.connection.call(self.connection.client.hgetall, self._counts)
        found: dict[tuple[str, str], int] = {}
        for key, value in raw.items():
            mute_id, _, channel = _text(key).partition(_SEP)
            found[(mute_id, channel)] = int(_text(value))
        return found

    def events(self, mute_id: str | None = None, limit: int = 100) -> list[MutedEvent]:
        """Return the latest kept events (of one mute), oldest first."""
        if limit <= 0:
            return []
        span = limit if mute_id is None else max(limit, 10_000)
        raw: list[Any] = self.connection.call(
            self.connection.client.lrange, self._events, -span, -1
        )
        found = [MutedEvent.from_dict(json.loads(_text(body))) for body in raw]
        if mute_id is not None:
            found = [e for e in found if e.mute_id == mute_id]
        return found[-limit:]
