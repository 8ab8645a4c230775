"""MemoryMutes: mutes and muted events in this process (the memory store's, and a fallback).

Gone when the process ends, like everything in :class:`~slack_batcher.store.memory.MemoryStore`.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from ..model.mute import Mute, MutedEvent

__all__ = ["MemoryMutes"]


class MemoryMutes:
    """A :class:`~slack_batcher.store.base.Mutes` in dicts; safe to call from several threads."""

    def __init__(self) -> None:
        self._mutes: dict[str, Mute] = {}
        self._events: list[MutedEvent] = []
        self._counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def add(self, mute: Mute) -> None:
        """Insert *mute* (or replace the one with its id)."""
        with self._lock:
            self._mutes[mute.id] = mute

    def remove(self, mute_id: str) -> Mute | None:
        """Forget a mute; return it, or None when unknown."""
        with self._lock:
            return self._mutes.pop(mute_id, None)

    def listed(self) -> list[Mute]:
        """Return every kept mute, oldest first."""
        with self._lock:
            return sorted(self._mutes.values(), key=lambda m: m.created_at)

    def active(self, now: datetime) -> list[Mute]:
        """Return the mutes that hold at *now*, oldest first."""
        return [m for m in self.listed() if m.active(now)]

    def record(self, events: Sequence[MutedEvent]) -> None:
        """Keep *events* and count them."""
        with self._lock:
            self._events.extend(events)
            self._counts.update((e.mute_id, e.channel) for e in events)

    def counts(self) -> dict[tuple[str, str], int]:
        """Return the events kept per (mute id, channel)."""
        with self._lock:
            return dict(self._counts)

    def events(self, mute_id: str | None = None, limit: int = 100) -> list[MutedEvent]:
        """Return the latest kept events (of one mute), oldest first."""
        with self._lock:
            found = [e for e in self._events if mute_id is None or e.mute_id == mute_id]
        return found[-limit:] if limit > 0 else []
