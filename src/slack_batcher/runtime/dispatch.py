"""Dispatch: from the batcher's outbox to one delivery worker per channel.

The dispatcher owns the outbox entries the service is delivering. It subscribes to the
outbox once (:meth:`Outbox.subscribe`): the entries already waiting (left by an earlier run)
come back at once, every later one through the listener. :meth:`Dispatcher.collect` queues
what arrived, in flush order, per channel; a
channel with work has exactly one worker task, which delivers its queue head first and
ends when the queue is empty (so idle channels cost nothing). Channels never wait for each
other: a rate-limited or failing channel holds up only its own queue. Within a channel an
entry held for its live digest's reply interval lets the entries behind it go first; when
it goes, the entries of the same digest queued by then go with it (one edit). At shutdown
nothing is held.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..core.log_fields import entry_fields
from ..model.clock import ManualClock
from ..model.errors import LeaseLostError
from ..store.base import OutboxEntry
from .metrics import DeliveryMetrics
from .posting import Deliverer
from .timers import ClockTimers, Signal

if TYPE_CHECKING:
    from ..core.batcher import MessageBatcher

__all__ = ["Dispatcher"]

logger = logging.getLogger(__name__)

#: Seconds to wait before retrying after the store or the batcher raised.
INTERNAL_RETRY_SECONDS = 5.0

#: Queued entries looked at for companions of a live digest's news (bounds the scan).
MAX_COMPANIONS_SCANNED = 500


class Dispatcher:
    """Per-channel queues and workers over the batcher's outbox."""

    def __init__(
        self,
        *,
        batcher: MessageBatcher,
        timers: ClockTimers,
        deliverer: Deliverer,
        metrics: DeliveryMetrics,
    ) -> None:
        self.batcher = batcher
        self.timers = timers
        self.deliverer = deliverer
        self.metrics = metrics
        self._jobs: dict[str, OutboxEntry] = {}
        self._queues: dict[str, deque[OutboxEntry]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._collect_scheduled = False
        self._drained = asyncio.Event()
        #: Fires when an entry joins a queue (a worker waiting on a held entry looks again).
        self._arrived = Signal(timers)
        #: Set by :meth:`drain`: no entry is held for its digest's reply interval any more.
        self.hurry = False
        #: Called (in the loop) whenever the last owned entry left: the outbox drained.
        self.on_drained: Callable[[], None] | None = None
        self._loop = asyncio.get_running_loop()
        self.outbox = batcher.outbox
        # Entries written to the outbox since the last collect (any thread appends).
        self._fresh: deque[OutboxEntry] = deque()
        #: Entries found in the outbox at start: left by an earlier run.
        self._recovered: deque[OutboxEntry] = deque(self.outbox.subscribe(self._on_outbox))

    def _on_outbox(self, entry: OutboxEntry) -> None:
        self._fresh.append(entry)  # any thread; deque.append is atomic
        self._loop.call_soon_threadsafe(self.request_collect)

    @property
    def owned(self) -> int:
        """How many outbox entries are being delivered."""
        return len(self._jobs)

    def in_sync(self) -> bool:
        """Return True when every outbox entry is owned (nothing new to collect)."""
        return not self._fresh and not self._recovered

    def request_collect(self) -> None:
        """Collect soon, once, however many times this is called before it runs."""
        if self._collect_scheduled:
            return
        self._collect_scheduled = True
        self.timers.enter()
        asyncio.get_running_loop().call_soon(self._scheduled_collect)

    def _scheduled_collect(self) -> None:
        self._collect_scheduled = False
        try:
            self.collect()
        except Exception:
            logger.exception("reading the outbox failed")
        finally:
            self.timers.leave()

    def collect(self) -> int:
        """Queue the outbox entries that arrived since the last call; return how many.

        The first call also queues the entries left by an earlier run: counted as
        recovered, and those caught mid-post as possible duplicates.
        """
        new = 0
        for source, recovered in ((self._recovered, True), (self._fresh, False)):
            while source:
                entry = source.popleft()
                if entry.id in self._jobs:
                    continue
                new += 1
                self._own(entry, recovered=recovered)
        return new

    def _own(self, entry: OutboxEntry, *, recovered: bool) -> None:
        # A shared store hands over entries another instance let go of (it died or stopped):
        # they count as recovered, like those left by an earlier run of this one.
        if entry.state.taken_over is not None:
            entry.state.taken_over = None
            recovered = True
        self._jobs[entry.id] = entry
        self.metrics.track(entry.id, entry.due_at)
        if recovered:
            self._count_recovered(entry)
        channel = entry.channel_id
        queue = self._queues.get(channel)
        if queue is None:
            queue = self._queues[channel] = deque()
        queue.append(entry)
        self._arrived.fire()
        if channel not in self._workers:
            self._workers[channel] = self.timers.spawn(
                self._channel_worker(channel), f"slack-batcher-deliver-{channel}"
            )

    def _count_recovered(self, entry: OutboxEntry) -> None:
        self.metrics.count("recovered")
        if entry.state.attempting is not None:
            self.metrics.count("possible_duplicates")
            logger.warning(
                "post %s to %s was being sent when the last run stopped: it is sent again "
                "and may appear twice",
                entry.id,
                entry.channel_id,
                extra=entry_fields(entry),
            )

    async def _channel_worker(self, channel: str) -> None:
        queue = self._queues[channel]
        clock = self.timers.clock
        try:
            while (queue or self._catch_up_at(channel)) and not self.deliverer.stopping:
                entry, companions, held_until = self._next(queue)
                if entry is None:
                    catch_up = self._catch_up_at(channel)
                    if catch_up is not None and (self.hurry or catch_up <= clock.now()):
                        await self._catch_up(channel)
                        continue
                    wake = min((t for t in (held_until, catch_up) if t is not None), default=None)
                    await self.timers.wait(wake, self._arrived)
                    continue
                try:
                    done = await self.deliverer.deliver(entry, companions)
                except asyncio.CancelledError:
                    raise
                except LeaseLostError as exc:  # a shared store: another instance has it now
                    logger.warning(
                        "stopped delivering %s to %s: %s",
                        entry.id,
                        channel,
                        exc,
                        extra=entry_fields(entry),
                    )
                    self.metrics.untrack(entry.id)
                except Exception:
                    logger.exception(
                        "delivering %s to %s failed; trying again",
                        entry.id,
                        channel,
                        extra=entry_fields(entry),
                    )
                    retry_at = clock.now() + timedelta(seconds=INTERNAL_RETRY_SECONDS)
                    await self.timers.wait(retry_at)
                    continue
                if not done:
                    continue  # stopping (the loop ends), or a retry is due: try it again
                queue.remove(entry)
                self._jobs.pop(entry.id, None)
        finally:
            self._workers.pop(channel, None)
            if not queue:
                self._queues.pop(channel, None)
            if not self._jobs:
                self._drained.set()
                if self.on_drained is not None:
                    self.on_drained()

    def _catch_up_at(self, channel: str) -> datetime | None:
        """Return when a stale digest parent of *channel* is to be caught up, or None."""
        digests = self.deliverer.digest_delivery
        return None if digests is None else digests.catch_ups.due_at(channel)

    async def _catch_up(self, channel: str) -> None:
        """Make *channel*'s catch-up edits that are due (all of them while draining)."""
        digests = self.deliverer.digest_delivery
        if digests is not None:
            await digests.catch_ups.run(channel, hurry=self.hurry)

    def catching_up(self) -> bool:
        """Return True while some stale digest parent waits for its catch-up edit."""
        digests = self.deliverer.digest_delivery
        return digests is not None and len(digests.catch_ups) > 0

    def _next(
        self, queue: deque[OutboxEntry]
    ) -> tuple[OutboxEntry | None, list[OutboxEntry], datetime | None]:
        """Return the first entry of *queue* that may go now and its digest companions.

        When every entry is held for its live digest's reply interval: (None, [], when the
        first hold ends).
        """
        digests = self.deliverer.digest_delivery
        if digests is None:
            return queue[0], [], None
        earliest: datetime | None = None
        for index, entry in enumerate(queue):
            held = None if self.hurry else digests.hold_until(entry)
            if held is None:
                rest = itertools.islice(queue, index + 1, index + 1 + MAX_COMPANIONS_SCANNED)
                return entry, digests.companions(entry, rest), None
            earliest = held if earliest is None else min(earliest, held)
        return None, [], earliest

    async def drain(self, deadline: datetime) -> None:
        """Deliver until nothing is owned or the clock reaches *deadline*.

        Nothing is held for a digest's reply interval any more. With a ManualClock the
        clock is moved wake-up by wake-up (simulated time).
        """
        self.hurry = True
        self._arrived.fire()
        timers = self.timers
        clock = timers.clock
        if isinstance(clock, ManualClock):
            await timers.run_until(deadline, done=self._idle, wake_at_end=False)
            return
        while not self._idle():
            remaining = (deadline - clock.now()).total_seconds()
            if remaining <= 0:
                return
            self._drained.clear()
            try:
                await asyncio.wait_for(self._drained.wait(), timeout=remaining)
            except TimeoutError:
                return

    def _idle(self) -> bool:
        """Return True when nothing is owned and no digest parent waits for a catch-up."""
        return not self._jobs and not self.catching_up()

    async def stop(self, grace: float = 0.0) -> int:
        """Stop delivering: start no new post, let those in flight finish, then end.

        Workers waiting (for pacing, a retry or a slot) are cancelled at once: their entries
        stay in the outbox untouched. A worker whose post is in flight gets up to *grace*
        seconds (the sender's HTTP timeout) for Slack's answer, which is then recorded —
        acknowledged, or its progress saved — so a post Slack accepted is not posted again at
        the next start. Returns how many posts were still in flight after *grace*.
        """
        self.outbox.remove_listener(self._on_outbox)
        self.deliverer.stopping = True
        tasks = dict(self._workers)
        for channel, task in tasks.items():
            if not self.deliverer.is_posting(channel):
                task.cancel()
        in_flight = [t for c, t in tasks.items() if self.deliverer.is_posting(c)]
        late = 0
        if in_flight:
            _, pending = await asyncio.wait(in_flight, timeout=grace)
            late = len(pending)
            if late:
                logger.warning(
                    "%d posts got no answer within %g s of the shutdown deadline: cancelled; "
                    "they may have reached Slack and are sent again at the next start",
                    late,
                    grace,
                )
            for task in pending:
                task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        return late
