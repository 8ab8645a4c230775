"""BatchingService: the asyncio runtime that drives a MessageBatcher and delivers its posts.

::

    async with BatchingService(batcher, sender) as service:
        await service.submit(message, "C0DEV")

A deadline task sleeps until the batcher's next due time, flushes due batches into the
outbox and goes back to sleep; a submit that opens an earlier deadline wakes it. Every flush
— window, size, urgent, overflow, memory pressure, shutdown — lands in the batcher's outbox
(the service sets ``auto_ack=False``); one worker per channel with work drains it in order,
so a slow or rate-limited channel never holds up the others. Delivery itself (pacing,
pages, threads, retries, the auth pause) is :mod:`.delivery`'s.

The batcher is synchronous and thread-safe; the service calls it directly from the event
loop (its calls are in-memory work or one SQLite transaction).
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
from collections.abc import Iterable
from datetime import timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..delivery.base import Sender
from ..delivery.pacing import Pacer
from ..model.clock import Clock, ManualClock
from ..model.errors import InvalidMessageError, StoreError
from ..model.message import BatchableMessage
from .admission import Admission, ServiceClosedError
from .config import ServiceConfig
from .deadline_loop import DeadlineLoop
from .digests import DigestControls
from .dispatch import Dispatcher
from .group_commit import GroupCommit
from .metrics import DeliveryMetrics
from .posting import Deliverer
from .shutdown import ShutdownReport
from .timers import ClockTimers
from .upkeep import StoreUpkeep

if TYPE_CHECKING:
    from ..core.batcher import AddResult, MessageBatcher

__all__ = ["BatchingService", "ServiceClosedError"]

logger = logging.getLogger(__name__)


class BatchingService:
    """Runs a :class:`MessageBatcher` on asyncio and delivers its posts through a Sender.

    ``clock`` defaults to the batcher's (they must agree: the batcher sets due times, the
    service sleeps until them). With a :class:`~slack_batcher.model.clock.ManualClock` nothing
    happens by itself: tests move time with :meth:`advance` (see :meth:`settle`). ``rng``
    drives retry jitter. ``pacer`` replaces the per-process pacing built from ``config``
    (instances sharing a Redis store share a
    :class:`~slack_batcher.delivery.shared_pacing.SharedPacer`). The sender is closed with
    the service (``close_sender``); the batcher and its store are not — a durable store
    keeps what was not delivered.
    """

    def __init__(
        self,
        batcher: MessageBatcher,
        sender: Sender,
        *,
        clock: Clock | None = None,
        config: ServiceConfig | None = None,
        rng: random.Random | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self.config = config if config is not None else ServiceConfig()
        self.config.ensure_valid()
        if clock is not None and clock is not batcher.clock:
            raise ValueError("clock: must be the batcher's clock (MessageBatcher(clock=...))")
        self.batcher = batcher
        self.sender = sender
        self.clock: Clock = batcher.clock
        if batcher.auto_ack:
            # Documented on the class: delivery is tracked through the outbox from now on.
            logger.info("BatchingService tracks delivery: setting the batcher's auto_ack off")
            batcher.auto_ack = False
        self.metrics = DeliveryMetrics(
            stuck_after=self.config.stuck_outbox_seconds,
            error_rate_threshold=self.config.error_rate_threshold,
        )
        batcher.add_stats_contributor(self.metrics)
        self._rng = rng if rng is not None else random.Random()
        self._pacer = pacer
        #: Controls (buttons) on digest posts; ``add`` is set by the HTTP app when on.
        self.digest_controls = DigestControls()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timers: ClockTimers | None = None
        self._deliverer: Deliverer | None = None
        self._dispatcher: Dispatcher | None = None
        self._deadlines: DeadlineLoop | None = None
        self._deadline_task: asyncio.Task[None] | None = None
        self._admission = Admission()
        self._upkeep: StoreUpkeep | None = None
        self._group: GroupCommit | None = None

    # -------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Pick up the outbox left by an earlier run and start the deadline timer."""
        if self._loop is not None:
            raise RuntimeError("BatchingService.start() was already called")
        loop = asyncio.get_running_loop()
        self._loop = loop
        timers = self._timers = ClockTimers(self.clock, loop)
        deliverer = self._deliverer = Deliverer(
            batcher=self.batcher,
            sender=self.sender,
            config=self.config,
            timers=timers,
            metrics=self.metrics,
            rng=self._rng,
            pacer=self._pacer,
        )
        if deliverer.digests is not None:
            deliverer.digests.controls = self.digest_controls
        if deliverer.digest_delivery is not None:  # rendered when delivered, if it is shown
            self.batcher.flusher.defer_render = deliverer.digest_delivery.defers
        dispatcher = self._dispatcher = Dispatcher(
            batcher=self.batcher, timers=timers, deliverer=deliverer, metrics=self.metrics
        )
        # Checkpoint once the service is idle, e.g. when the outbox just drained (a
        # checkpoint fsyncs: not at every drain of a busy service, the idle timer decides).
        upkeep = self._upkeep = StoreUpkeep(self.batcher.store, loop, deliverer.writes_held)
        dispatcher.on_drained = upkeep.schedule
        store = self.batcher.store
        grouping = store.group_commits() if self.config.group_commit else None
        if grouping is not None:
            self._group = GroupCommit(grouping, loop, self._admission.diverge)
            deliverer.group = self._group
        deadlines = self._deadlines = DeadlineLoop(self.batcher, timers, dispatcher)
        recovered = dispatcher.collect()
        if recovered:
            logger.info("picked up %d undelivered posts from the store", recovered)
        self._deadline_task = deadlines.spawn()
        self._admission.accepting = True

    async def __aenter__(self) -> BatchingService:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Shut down gracefully: stop accepting, flush everything, drain until the deadline.

        Whatever is not delivered by ``shutdown_timeout_seconds`` stays in the store's
        outbox (with a durable store, the next start delivers it). With a ManualClock the
        drain runs in simulated time: the clock is moved to each wake-up up to the deadline.
        """
        admission = self._admission
        if admission.closed or self._loop is None:
            admission.closed = True
            return
        admission.closed = True
        admission.accepting = False
        if self._upkeep is not None:
            self._upkeep.close()
        if self._group is not None:
            self._group.close()
        timers, _ = self._require_started()
        dispatcher = self._require_dispatcher()
        if self._deadline_task is not None:
            self._deadline_task.cancel()
            await asyncio.gather(self._deadline_task, return_exceptions=True)
        pending = self.batcher.get_batch_stats()["batches_pending"]
        try:
            self.batcher.shutdown()
        except Exception:
            logger.exception("could not flush every pending batch at shutdown")
        unflushed = self.batcher.get_batch_stats()["batches_pending"]
        dispatcher.collect()
        owned = dispatcher.owned
        delivered, dead = self.metrics.delivered, self.metrics.dead_letters
        deadline = self.clock.now() + timedelta(seconds=self.config.shutdown_timeout_seconds)
        await dispatcher.drain(deadline)
        late = await dispatcher.stop(self.config.shutdown_post_grace_seconds)
        self.batcher.flusher.defer_render = None  # the batcher may go on without a deliverer
        assert self._deliverer is not None
        unacked = self._deliverer.writes_held()
        if self._upkeep is not None:
            self._upkeep.checkpoint()
        report = ShutdownReport(
            pending=pending,
            flushed_batches=pending - unflushed,
            failed_to_flush=unflushed,
            posts_to_deliver=owned,
            delivered=self.metrics.delivered - delivered,
            dead_lettered=self.metrics.dead_letters - dead,
            cut_off_in_flight=late,
            acks_not_written=unacked,
            left_in_outbox=self.batcher.outbox.size(),
            durable=self.batcher.durable,
        )
        self.metrics.last_shutdown = report.to_dict()
        report.log()
        admission.remove_signals()
        timers.close()
        if self.config.close_sender:
            await self.sender.close()

    # ---------------------------------------------------------------- signals

    def install_signal_handlers(
        self, signals: Iterable[int] = (signal.SIGTERM, signal.SIGINT)
    ) -> None:
        """Make SIGTERM and SIGINT request a graceful shutdown (see :meth:`serve_forever`)."""
        self._admission.install_signals(self._require_loop(), signals)

    def request_shutdown(self, signum: int | None = None) -> None:
        """Stop accepting messages and let :meth:`serve_forever` return."""
        self._admission.request_stop(signum)

    async def serve_forever(self) -> None:
        """Return once a shutdown is requested (a signal or :meth:`request_shutdown`)."""
        await self._admission.wait_for_stop()

    # -------------------------------------------------------------- accepting

    async def submit(self, message: BatchableMessage, channel_id: str = "default") -> AddResult:
        """Add *message* to *channel_id*'s batches; anything it flushes is delivered.

        Raises :class:`ServiceClosedError` once shutdown began, and the batcher's
        :class:`~slack_batcher.model.errors.InvalidMessageError` for bad input. With a store that
        supports it (SQLite) and ``group_commit`` on, the submits of one event-loop turn
        share one commit, and each returns once that commit is done; a failed commit raises
        :class:`~slack_batcher.model.errors.StoreError` here.
        """
        committed = self._admit()
        result = self.batcher.add(message, channel_id)
        self._wrote(1)
        if committed is not None:
            await committed  # durable before the caller (an HTTP 202) hears of it
        return result

    async def submit_many(
        self, events: Iterable[tuple[BatchableMessage, str]], *, unit: bool = False
    ) -> tuple[list[AddResult], Exception | None]:
        """Add several events in one go: with group commit, one commit for all of them.

        *unit*: the events are one delivery (one webhook call): they join one batch per
        channel and flush together (:meth:`MessageBatcher.add_unit
        <slack_batcher.core.batcher.MessageBatcher.add_unit>`); ``max_batch_size`` never
        splits it.

        Returns the results of the events added, in order, and the error that stopped the
        rest (an :class:`~slack_batcher.model.errors.InvalidMessageError` or
        :class:`~slack_batcher.model.errors.StoreError`), or None. Every event in the results is
        durable when this returns; a failed group commit raises StoreError (none is).
        """
        committed = self._admit()
        results: list[AddResult] = []
        error: Exception | None = None
        try:
            # Shared batches (Redis): a unit is one round trip, add_many one per hundred events.
            add = self.batcher.add_unit if unit else self.batcher.add_many
            results, error = add(events)
        except (InvalidMessageError, StoreError) as exc:
            error = exc
        self._wrote(len(results))
        if committed is not None:
            await committed
        return results, error

    def _admit(self) -> asyncio.Future[None] | None:
        """Refuse unless accepting; join this turn's group commit (its future), if any."""
        self._admission.check()
        return self._group.join() if self._group is not None else None

    def _wrote(self, count: int) -> None:
        if self._upkeep is not None:
            self._upkeep.wrote(count)
        self.notify()

    def submit_threadsafe(
        self,
        message: BatchableMessage,
        channel_id: str = "default",
        *,
        timeout: float | None = None,
    ) -> AddResult:
        """Like :meth:`submit`, from a thread outside the service's event loop (blocks)."""
        loop = self._require_loop()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            raise RuntimeError(
                "submit_threadsafe() was called on the service's own event loop; "
                "use `await service.submit(...)` there"
            )
        future = asyncio.run_coroutine_threadsafe(self.submit(message, channel_id), loop)
        return future.result(timeout)

    def notify(self) -> None:
        """Tell the service the batcher changed outside :meth:`submit` (a manual flush, …).

        Picks up new outbox entries and re-reads the next deadline. Call it from the loop.
        """
        dispatcher = self._dispatcher
        if dispatcher is None:
            return
        if not dispatcher.in_sync():
            dispatcher.request_collect()
        if self._upkeep is not None and not self._upkeep.scheduled:
            self._upkeep.schedule()
        if self._deadlines is not None:
            self._deadlines.wake_if_earlier(self.batcher.placed_due_at())

    # ---------------------------------------------------------- control, tests

    def resume(self) -> None:
        """Resume delivery paused by an auth error (after fixing the credential)."""
        _, deliverer = self._require_started()
        deliverer.resume()

    @property
    def paused(self) -> bool:
        """True while delivery is paused by an auth error."""
        return self._deliverer is not None and self._deliverer.paused

    @property
    def accepting(self) -> bool:
        """True while :meth:`submit` accepts messages."""
        return self._admission.accepting

    @property
    def group_commit(self) -> GroupCommit | None:
        """The group commit in use (its ``groups`` and ``writes`` counts), if any."""
        return self._group

    @property
    def needs_restart(self) -> bool:
        """True after a failed group commit: only a restart (from the store) resumes ingest."""
        return self._admission.diverged is not None

    @property
    def refusal(self) -> str | None:
        """Why :meth:`submit` refuses events, or None while it accepts them."""
        return self._admission.refusal()

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop the service runs on, once started."""
        return self._loop

    @property
    def closing(self) -> bool:
        """True once a shutdown was requested or began."""
        return self._admission.closing

    def stats(self) -> dict[str, Any]:
        """Return the delivery figures (also under ``"delivery"`` in ``get_batch_stats()``)."""
        return self.metrics.stats()

    async def settle(self) -> None:
        """Wait until the service has done all it can at the current time.

        Every task then waits for the clock (a deadline, pacing, a retry) or a signal; posts
        in flight are awaited. Useful with a ManualClock; harmless with the system clock.
        """
        timers, _ = self._require_started()
        await timers.settle()

    async def run_due(self) -> None:
        """Wake whatever is due by the clock now, and :meth:`settle`."""
        timers, _ = self._require_started()
        timers.wake_due()
        await timers.settle()

    async def advance(self, seconds: float | timedelta) -> None:
        """Move a ManualClock forward by *seconds*, stopping at every wake-up on the way.

        At each stop the service flushes, posts and retries what is due, then settles, so
        pacing and Retry-After are honoured exactly as with a real clock.
        """
        clock = self.clock
        if not isinstance(clock, ManualClock):
            raise TypeError("advance() needs the batcher to run on a ManualClock")
        timers, _ = self._require_started()
        step = seconds if isinstance(seconds, timedelta) else timedelta(seconds=seconds)
        await timers.run_until(clock.now() + step)

    def _require_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise ServiceClosedError("the service is not started (use `async with` or start())")
        return self._loop

    def _require_started(self) -> tuple[ClockTimers, Deliverer]:
        if self._timers is None or self._deliverer is None:
            raise ServiceClosedError("the service is not started (use `async with` or start())")
        return self._timers, self._deliverer

    def _require_dispatcher(self) -> Dispatcher:
        if self._dispatcher is None:
            raise ServiceClosedError("the service is not started (use `async with` or start())")
        return self._dispatcher
