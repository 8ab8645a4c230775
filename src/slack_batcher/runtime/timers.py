"""Clock-aware sleeping for the runtime, with a way to tell when everything is waiting.

Every wait in the runtime — until a batch is due, until pacing allows a post, until a retry —
goes through :meth:`ClockTimers.wait`, which sleeps until a time read from the injected
clock, or until a :class:`Signal` fires. With the system clock a loop timer wakes sleepers
on time. With a :class:`~slack_batcher.model.clock.ManualClock` nothing wakes by itself: the test
moves the clock and calls :meth:`ClockTimers.wake_due`.

The timers also count *busy* tasks: a task spawned through :meth:`spawn` is busy except
while it sleeps in :meth:`wait`. :meth:`settle` returns once nothing is busy — every task is
waiting for the clock or a signal — which is how tests know the runtime has done all it can
at the current time (in-flight HTTP requests count as busy).
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any, TypeVar

from ..model.clock import Clock, ManualClock

__all__ = ["ClockTimers", "Signal"]

T = TypeVar("T")


class _Sleeper:
    __slots__ = ("future", "resolved", "when")

    def __init__(self, when: datetime | None, future: asyncio.Future[None]) -> None:
        self.when = when
        self.future = future
        self.resolved = False


class Signal:
    """Wakes every task waiting on it (an edge, not a level: later waiters are not woken)."""

    def __init__(self, timers: ClockTimers) -> None:
        self._timers = timers
        self._waiters: set[_Sleeper] = set()

    def fire(self) -> None:
        """Wake everything waiting on this signal now."""
        for sleeper in list(self._waiters):
            self._timers._resolve(sleeper)
        self._waiters.clear()


class ClockTimers:
    """Sleeping by an injected clock, plus busy accounting (see the module docstring)."""

    def __init__(self, clock: Clock, loop: asyncio.AbstractEventLoop) -> None:
        self.clock = clock
        self._loop = loop
        self._heap: list[tuple[datetime, int, _Sleeper]] = []
        self._sequence = 0
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._handle: asyncio.TimerHandle | None = None
        self._armed_at: datetime | None = None
        self._real_time = not isinstance(clock, ManualClock)
        self._tasks: set[asyncio.Task[Any]] = set()

    # ------------------------------------------------------------- busy count

    def enter(self) -> None:
        """Count one more busy piece of work (a task, a scheduled callback)."""
        self._busy += 1
        self._idle.clear()

    def leave(self) -> None:
        """Count one busy piece of work less."""
        self._busy -= 1
        if self._busy <= 0:
            self._busy = 0
            self._idle.set()

    @property
    def busy(self) -> int:
        """How many tasks are running (not sleeping in :meth:`wait`)."""
        return self._busy

    def spawn(self, coro: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
        """Start *coro* as a task counted as busy until it sleeps or ends."""
        self.enter()
        task = self._loop.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        self.leave()

    async def settle(self) -> None:
        """Return once every counted task waits for the clock or a signal, or has ended."""
        while True:
            await self._idle.wait()
            # Let callbacks that are already scheduled run, then look again.
            await asyncio.sleep(0)
            if self._busy == 0:
                return

    # --------------------------------------------------------------- sleeping

    async def wait(self, until: datetime | None, *signals: Signal) -> None:
        """Sleep until the clock reaches *until* (None: no time limit) or a signal fires."""
        if until is not None and until <= self.clock.now():
            await asyncio.sleep(0)
            return
        sleeper = _Sleeper(until, self._loop.create_future())
        if until is not None:
            self._sequence += 1
            heapq.heappush(self._heap, (until, self._sequence, sleeper))
            if self._armed_at is None or until < self._armed_at:
                self._arm()
        for signal in signals:
            signal._waiters.add(sleeper)
        self.leave()
        try:
            await sleeper.future
        finally:
            for signal in signals:
                signal._waiters.discard(sleeper)
            if not sleeper.resolved:  # cancelled while asleep: busy again until it ends
                sleeper.resolved = True
                self.enter()

    def _resolve(self, sleeper: _Sleeper) -> None:
        if sleeper.resolved:
            return
        sleeper.resolved = True
        self.enter()
        if not sleeper.future.done():
            sleeper.future.set_result(None)

    def wake_due(self) -> int:
        """Wake every sleeper whose time has come by the clock; return how many."""
        now = self.clock.now()
        heap = self._heap
        woken = 0
        while heap and (heap[0][2].resolved or heap[0][0] <= now):
            _, _, sleeper = heapq.heappop(heap)
            if not sleeper.resolved:
                self._resolve(sleeper)
                woken += 1
        self._arm()
        return woken

    def next_deadline(self) -> datetime | None:
        """Return the earliest time a sleeper waits for, or None."""
        heap = self._heap
        while heap and heap[0][2].resolved:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def _arm(self) -> None:
        """Schedule a loop timer for the earliest sleeper (system clocks only)."""
        if not self._real_time:
            return
        self.close()
        head = self.next_deadline()
        if head is not None:
            delay = max((head - self.clock.now()).total_seconds(), 0.0)
            self._handle = self._loop.call_later(delay, self.wake_due)
            self._armed_at = head

    def close(self) -> None:
        """Cancel the loop timer."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._armed_at = None

    async def run_until(
        self,
        target: datetime,
        *,
        done: Callable[[], bool] | None = None,
        wake_at_end: bool = True,
    ) -> None:
        """Move a ManualClock to *target*, stopping at every wake-up on the way.

        At each stop the due sleepers are woken and the timers settle, so everything happens
        at the time it would with a real clock. Stops early once ``done()`` is true; with
        ``wake_at_end=False`` nothing due exactly at *target* is woken.
        """
        clock = self.clock
        if not isinstance(clock, ManualClock):
            raise TypeError("stepping the clock needs a ManualClock")
        await self.settle()
        while not (done is not None and done()):
            wake = self.next_deadline()
            if wake is None or wake >= target:
                clock.set(max(target, clock.now()))
                if wake_at_end:
                    self.wake_due()
                    await self.settle()
                return
            clock.set(max(wake, clock.now()))
            self.wake_due()
            await self.settle()

    @property
    def tasks(self) -> set[asyncio.Task[Any]]:
        """The spawned tasks still running."""
        return set(self._tasks)
