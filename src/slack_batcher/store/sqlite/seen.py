"""The SQLite store's accepted source message ids (table ``seen_ids``, schema version 4).

A :class:`~slack_batcher.store.base.SeenIds` for one process (the file is locked to one):
it keeps no claims, as two requests of one process carrying the same id meanwhile meet in
the batcher, which refuses an id still pending in a channel. The table stays bounded
without a scan: every :data:`PRUNE_EVERY` confirms delete the rows past *size* by ``seq``
range, and up to :data:`PRUNE_STEP` oldest rows per confirm once older than *keep*: more
than were inserted meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..codec import time_text

if TYPE_CHECKING:
    from .file import SQLiteFile

__all__ = ["PRUNE_EVERY", "PRUNE_STEP", "SQLiteSeen"]

#: Confirms between two prunes (so the table holds at most *size* + this many rows).
PRUNE_EVERY = 16
#: Oldest rows looked at per prune for the age limit, per confirm since the last one.
PRUNE_STEP = 16
_INSERT = "INSERT OR REPLACE INTO seen_ids (id, accepted_at) VALUES (?, ?)"
#: Ids per ``IN (…)`` query (below SQLite's 999 parameters limit of old versions).
_CHUNK = 500


class SQLiteSeen:
    """The accepted ids in the ``seen_ids`` table: at most *size*, each kept for *keep*."""

    def __init__(self, file: SQLiteFile, size: int, keep: timedelta) -> None:
        self.file = file
        self.size = size
        self.keep = keep
        self._confirms = 0

    def claim(self, ids: Sequence[str], now: datetime) -> dict[str, str]:
        """Return ``seen`` for the ids accepted within *keep* of *now*, ``new`` for the others."""
        found: set[str] = set()
        if self.size > 0:
            cutoff = time_text(now - self.keep)
            unique = list(dict.fromkeys(ids))
            with self.file._reading("reading the accepted ids") as conn:
                for start in range(0, len(unique), _CHUNK):
                    chunk = unique[start : start + _CHUNK]
                    marks = ",".join("?" * len(chunk))
                    rows = conn.execute(
                        f"SELECT id FROM seen_ids WHERE id IN ({marks}) AND accepted_at >= ?",
                        (*chunk, cutoff),
                    )
                    found.update(row[0] for row in rows)
        return {i: "seen" if i in found else "new" for i in ids}

    def confirm(self, ids: Sequence[str], now: datetime) -> None:
        """Insert *ids* as accepted at *now*; every :data:`PRUNE_EVERY` calls, prune."""
        if self.size <= 0 or not ids:
            return
        at = time_text(now)
        unique = list(dict.fromkeys(ids))
        self._confirms += 1
        if len(unique) == 1 and self._confirms % PRUNE_EVERY:  # the common case: one statement
            self.file._statement("remembering an accepted id", _INSERT, (unique[0], at))
            return
        with self.file._transaction("remembering accepted ids") as conn:
            conn.executemany(_INSERT, [(i, at) for i in unique])
            conn.execute(
                "DELETE FROM seen_ids WHERE seq <= (SELECT max(seq) FROM seen_ids) - ?",
                (self.size,),
            )
            conn.execute(
                "DELETE FROM seen_ids WHERE seq IN"
                " (SELECT seq FROM seen_ids ORDER BY seq LIMIT ?) AND accepted_at < ?",
                (PRUNE_EVERY * PRUNE_STEP, time_text(now - self.keep)),
            )

    def release(self, ids: Sequence[str]) -> None:
        """Nothing to give up: claims are not kept."""
