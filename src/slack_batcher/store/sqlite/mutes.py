"""The SQLite store's mutes and muted events (tables ``mutes`` / ``muted_events``, schema v5).

The file is held by one process, so the mutes in force are kept in memory too: the ingest
path's :meth:`SQLiteMutes.active` reads no disk; every change writes the file first.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from ...model.mute import Mute, MutedEvent
from ..codec import dump_json, time_text

if TYPE_CHECKING:
    from .file import SQLiteFile

__all__ = ["SQLiteMutes"]


class SQLiteMutes:
    """A :class:`~slack_batcher.store.base.Mutes` in the store's file."""

    def __init__(self, file: SQLiteFile) -> None:
        self.file = file
        self._cache: dict[str, Mute] | None = None
        self._sorted: list[Mute] | None = None  # the cache, oldest first

    def _loaded(self) -> dict[str, Mute]:
        if self._cache is None:
            with self.file._reading("reading the mutes") as conn:
                rows = conn.execute("SELECT body FROM mutes ORDER BY created_at, id").fetchall()
            mutes = [Mute.from_dict(json.loads(row[0])) for row in rows]
            self._cache = {m.id: m for m in mutes}
        return self._cache

    def add(self, mute: Mute) -> None:
        """Insert *mute* (or replace the one with its id)."""
        self.file._statement(
            "writing a mute",
            "INSERT OR REPLACE INTO mutes (id, created_at, until, body) VALUES (?, ?, ?, ?)",
            (mute.id, time_text(mute.created_at), time_text(mute.until), dump_json(mute.to_dict())),
        )
        self._loaded()[mute.id] = mute
        self._sorted = None

    def remove(self, mute_id: str) -> Mute | None:
        """Delete a mute; return it, or None when unknown. Its events stay."""
        known = self._loaded()
        self.file._statement("removing a mute", "DELETE FROM mutes WHERE id = ?", (mute_id,))
        self._sorted = None
        return known.pop(mute_id, None)

    def listed(self) -> list[Mute]:
        """Return every kept mute, oldest first."""
        if self._sorted is None:
            self._sorted = sorted(self._loaded().values(), key=lambda m: (m.created_at, m.id))
        return list(self._sorted)

    def active(self, now: datetime) -> list[Mute]:
        """Return the mutes that hold at *now*, oldest first (from memory)."""
        if self._sorted is None:
            self.listed()
        assert self._sorted is not None
        return [m for m in self._sorted if now < m.until]

    def record(self, events: Sequence[MutedEvent]) -> None:
        """Keep *events* in one transaction."""
        if not events:
            return
        rows = [
            (e.mute_id, e.channel, time_text(e.muted_at), dump_json(e.to_dict())) for e in events
        ]
        with self.file._transaction("keeping muted events") as conn:
            conn.executemany(
                "INSERT INTO muted_events (mute_id, channel_id, muted_at, body) VALUES (?,?,?,?)",
                rows,
            )

    def counts(self) -> dict[tuple[str, str], int]:
        """Return the events kept per (mute id, channel)."""
        with self.file._reading("counting muted events") as conn:
            rows = conn.execute(
                "SELECT mute_id, channel_id, count(*) FROM muted_events"
                " GROUP BY mute_id, channel_id"
            ).fetchall()
        return {(str(r[0]), str(r[1])): int(r[2]) for r in rows}

    def events(self, mute_id: str | None = None, limit: int = 100) -> list[MutedEvent]:
        """Return the latest kept events (of one mute), oldest first."""
        where, params = ("WHERE mute_id = ?", (mute_id,)) if mute_id is not None else ("", ())
        with self.file._reading("reading muted events") as conn:
            rows = conn.execute(
                f"SELECT body FROM muted_events {where} ORDER BY seq DESC LIMIT ?",
                (*params, max(0, limit)),
            ).fetchall()
        return [MutedEvent.from_dict(json.loads(r[0])) for r in reversed(rows)]
