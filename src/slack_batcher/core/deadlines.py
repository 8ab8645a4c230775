"""Deadlines: when each pending batch falls due, found without scanning the pending set.

Batches opened with the same window fall due in the order they open (the clock does not go
back), so each window gets a FIFO *lane*: pushing and popping cost O(1) and an entry is one
reference. A batch that would break a lane's order (a clock set back, a recovered batch, a
failed flush retried) goes to a heap instead, and so does every batch of a sliding window
(its due time moves: it is pushed again, and the earlier entry is skipped). Entries of
batches that left the pending set are skipped lazily; once they are more than an eighth of
all entries (:meth:`Deadlines.left` counts them), the lanes and the heap are compacted, so
a batch flushed early (full, urgent) is not kept alive, messages and all, until its due time.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Mapping
from datetime import datetime, timedelta

from ..model.batch import BatchGroup

__all__ = ["Deadlines"]


class Deadlines:
    """Due times of the batches in *pending* (id → batch): one is alive while it is there.

    The pending map is read in place, not through a callback: compaction checks every entry.
    """

    def __init__(self, pending: Mapping[str, BatchGroup]) -> None:
        self._pending = pending
        self._lanes: dict[timedelta, deque[BatchGroup]] = {}
        self._heap: list[tuple[datetime, int, BatchGroup]] = []
        self._pushed = 0
        #: Entries held (lanes and heap), and those of batches that left (an estimate).
        self._entries = 0
        self._dead = 0

    def left(self, batch: BatchGroup) -> None:
        """Note that *batch* left the pending set; compact once dead entries pile up.

        Compaction scans every entry, and runs after at least an eighth of them died: about
        nine pending checks per batch that leaves, amortised.
        """
        self._dead = max(self._dead, 0) + 1  # a moved batch's extra entries can go below 0
        if self._dead > 32 and self._dead * 8 > self._entries:
            self._compact()

    def _compact(self) -> None:
        get = self._pending.get
        entries = 0
        for window, lane in list(self._lanes.items()):
            kept = deque([batch for batch in lane if get(batch.id) is batch])
            if kept:
                self._lanes[window] = kept
                entries += len(kept)
            else:
                del self._lanes[window]
        heap = [entry for entry in self._heap if get(entry[2].id) is entry[2]]
        heapq.heapify(heap)
        self._heap = heap
        self._entries = entries + len(heap)
        self._dead = 0

    def push(self, batch: BatchGroup, window: timedelta | None = None) -> None:
        """Track *batch*, due at ``batch.due_at`` (opened with *window*, when known)."""
        if window is not None:
            lane = self._lanes.get(window)
            if lane is None:
                lane = self._lanes[window] = deque()
            if not lane or lane[-1].due_at <= batch.due_at:
                lane.append(batch)
                self._entries += 1
                return
        self._entries += 1
        self._pushed += 1
        heapq.heappush(self._heap, (batch.due_at, self._pushed, batch))

    def pop_due(self, now: datetime) -> list[BatchGroup]:
        """Remove and return the pending batches due at *now*, earliest first."""
        get = self._pending.get
        due: list[BatchGroup] = []
        for lane in self._lanes.values():
            while lane and lane[0].due_at <= now:
                batch = lane.popleft()
                if get(batch.id) is batch:
                    due.append(batch)
                else:
                    self._dead -= 1
                self._entries -= 1
        heap = self._heap
        while heap and heap[0][0] <= now:
            batch = heapq.heappop(heap)[2]
            self._entries -= 1
            if get(batch.id) is not batch:
                self._dead -= 1
            elif batch.due_at <= now:  # else a sliding window moved it
                due.append(batch)
        if len(due) > 1:
            # A batch whose due time moved (a sliding window) can have two entries due at
            # once: it is returned once.
            unique = {id(b): b for b in due}
            due = sorted(unique.values(), key=lambda b: b.due_at)  # stable: opening order
        return due

    def next_due(self) -> datetime | None:
        """Return the earliest due time of a pending batch, or None."""
        get = self._pending.get
        best: datetime | None = None
        for lane in self._lanes.values():
            while lane and get(lane[0].id) is not lane[0]:
                lane.popleft()
                self._entries -= 1
                self._dead -= 1
            if lane and (best is None or lane[0].due_at < best):
                best = lane[0].due_at
        heap = self._heap
        while heap and (get(heap[0][2].id) is not heap[0][2] or heap[0][2].due_at > heap[0][0]):
            # left the pending set, or a sliding window moved it later
            gone = heapq.heappop(heap)[2]
            if get(gone.id) is not gone:
                self._dead -= 1
            self._entries -= 1
        if heap and (best is None or heap[0][0] < best):
            best = heap[0][0]
        return best
