"""Deadlines: when each pending batch falls due, found without scanning the pending set.

Batches opened with the same window fall due in the order they open (the clock does not go
back), so each window gets a FIFO *lane*: pushing and popping cost O(1) and an entry is one
reference. A batch that would break a lane's order (a clock set back, a recovered batch, a
failed flush retried) goes to a heap instead, and so does every batch of a sliding window
(its due time moves: it is pushed again, and the earlier entry is skipped). Entries of
batches that left the pending set are skipped lazily.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta

from ..model.batch import BatchGroup

__all__ = ["Deadlines"]


class Deadlines:
    """Due times of pending batches; ``alive(batch)`` says whether one is still pending."""

    def __init__(self, alive: Callable[[BatchGroup], bool]) -> None:
        self._alive = alive
        self._lanes: dict[timedelta, deque[BatchGroup]] = {}
        self._heap: list[tuple[datetime, int, BatchGroup]] = []
        self._pushed = 0

    def push(self, batch: BatchGroup, window: timedelta | None = None) -> None:
        """Track *batch*, due at ``batch.due_at`` (opened with *window*, when known)."""
        if window is not None:
            lane = self._lanes.get(window)
            if lane is None:
                lane = self._lanes[window] = deque()
            if not lane or lane[-1].due_at <= batch.due_at:
                lane.append(batch)
                return
        self._pushed += 1
        heapq.heappush(self._heap, (batch.due_at, self._pushed, batch))

    def pop_due(self, now: datetime) -> list[BatchGroup]:
        """Remove and return the pending batches due at *now*, earliest first."""
        alive = self._alive
        due: list[BatchGroup] = []
        for lane in self._lanes.values():
            while lane and lane[0].due_at <= now:
                batch = lane.popleft()
                if alive(batch):
                    due.append(batch)
        heap = self._heap
        while heap and heap[0][0] <= now:
            batch = heapq.heappop(heap)[2]
            if alive(batch) and batch.due_at <= now:  # else a sliding window moved it
                due.append(batch)
        if len(due) > 1:
            # A batch whose due time moved (a sliding window) can have two entries due at
            # once: it is returned once.
            unique = {id(b): b for b in due}
            due = sorted(unique.values(), key=lambda b: b.due_at)  # stable: opening order
        return due

    def next_due(self) -> datetime | None:
        """Return the earliest due time of a pending batch, or None."""
        alive = self._alive
        best: datetime | None = None
        for lane in self._lanes.values():
            while lane and not alive(lane[0]):
                lane.popleft()
            if lane and (best is None or lane[0].due_at < best):
                best = lane[0].due_at
        heap = self._heap
        while heap and (not alive(heap[0][2]) or heap[0][2].due_at > heap[0][0]):
            heapq.heappop(heap)  # left the pending set, or a sliding window moved it later
        if heap and (best is None or heap[0][0] < best):
            best = heap[0][0]
        return best
