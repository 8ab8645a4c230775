"""The Slack-call budget of live digests: never more calls than events, no empty edits.

A digest's calls are its first post, every post in its thread and every edit of the parent.
A small digest has no thread: each join is one edit of the parent listing all its items,
never more calls than events, and is always made. Once a digest has converted (its parent
the summary, its items in the thread), an edit of the parent is made only when the digest's
events so far pay for it: calls ≤ events. Between edits the parent shows the last summary
while the thread takes every new item — nothing is hidden, the parent is only less current
(:mod:`.digest_catch_up` edits it once its digest goes quiet). An edit that would
not change what the parent shows is not made at all.

A converted digest's parent is also edited at most once per :data:`EDIT_SPACING`: in a
storm its joins come every second or so, and a parent re-rendered at each would only
spend Slack's ``chat.update`` allowance. A join inside the spacing leaves the parent stale
until the spacing ends (the catch-up edit, or the next join after it).

Edits are counted in the process; after a restart a digest is assumed to have been edited
once per batch it took (more than it was, never fewer), so the budget still holds.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ..store.base import DigestRecord

__all__ = ["EDIT_SPACING", "DigestBudget"]

#: Digests whose edits and last summary are remembered (the oldest is dropped past this).
MAX_TRACKED = 1024

#: A converted digest's parent is edited at most once per this long.
EDIT_SPACING = timedelta(seconds=10)


class DigestBudget:
    """Per live digest: edits made and the parent's last blocks; whether an edit is due."""

    def __init__(self) -> None:
        self._edits: dict[str, tuple[str, int]] = {}  # key -> (digest post ts, edits)
        self._shown: dict[str, tuple[str, Any]] = {}  # key -> (digest post ts, blocks)
        self._last: dict[str, tuple[str, datetime]] = {}  # key -> (digest post ts, last edit)

    def _edits_of(self, record: DigestRecord) -> int:
        """Return the edits of *record*'s parent, estimated (then kept) for one not seen."""
        kept = self._edits.get(record.key)
        if kept is not None and kept[0] == record.ts:
            return kept[1]
        if len(self._edits) >= MAX_TRACKED:
            self._edits.pop(next(iter(self._edits)))
        estimate = max(0, len(record.entries) - 1)
        self._edits[record.key] = (record.ts, estimate)
        return estimate

    def calls(self, record: DigestRecord) -> int:
        """Return the Slack calls *record*'s digest has cost: its post, replies and edits."""
        return 1 + record.replies + self._edits_of(record)

    def affords_edit(self, record: DigestRecord, *, events: int, replies: int) -> bool:
        """Return True when *record* taking *events* in *replies* posts pays for an edit."""
        spent = self.calls(record) + replies + 1
        return spent <= len(record.messages) + events

    def next_edit(self, record: DigestRecord) -> datetime | None:
        """Return when *record*'s parent may be edited again, None if it may be now or unknown."""
        last = self._last.get(record.key)
        return last[1] + EDIT_SPACING if last is not None and last[0] == record.ts else None

    def changes(self, record: DigestRecord, blocks: Any) -> bool:
        """Return True unless the parent of *record* already shows *blocks*."""
        kept = self._shown.get(record.key)
        return kept is None or kept[0] != record.ts or kept[1] != blocks

    def edited(self, record: DigestRecord, blocks: Any, at: datetime) -> None:
        """Count an edit of *record*'s parent (as it was before) at *at*; it shows *blocks*."""
        edits = self._edits_of(record)
        self._edits[record.key] = (record.ts, edits + 1)
        if len(self._shown) >= MAX_TRACKED and record.key not in self._shown:
            self._shown.pop(next(iter(self._shown)))
            self._last.pop(next(iter(self._last)), None)
        self._shown[record.key] = (record.ts, blocks)
        self._last[record.key] = (record.ts, at)
