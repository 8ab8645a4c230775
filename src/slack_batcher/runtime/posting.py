"""Delivering one outbox entry: pacing, pages, threads, retries and the auth pause.

An entry is a rendered batch: page 1 and its continuation pages. Progress is saved in
``entry.state`` (a :class:`~slack_batcher.model.progress.DeliveryProgress`) through
:meth:`Outbox.update` so that a retry — or a restart after a crash — resumes at the first
page not yet posted; an entry found mid-post after a crash is posted again (at least once)
and counted as a possible duplicate. Live digests take their steps first
(:class:`~.digest_delivery.DigestDelivery`, which sees this class only through its
:class:`~.digest_delivery.DeliveryCalls` interface).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, cast

from ..core.log_fields import entry_fields
from ..delivery.base import PostResult, Sender, UpdatingSender, can_update
from ..delivery.pacing import Pacer
from ..delivery.retry import RetryAction, RetryPolicy
from ..formatting.message import SlackMessage
from ..model.errors import StoreError, StoreFullError
from ..model.progress import DigestPlan
from ..store.base import OutboxEntry
from .config import ServiceConfig
from .digest_delivery import DigestDelivery
from .digests import LiveDigests
from .group_commit import GroupCommit
from .held_acks import HeldAcks
from .metrics import DeliveryMetrics
from .thread_placement import ThreadPlacement, page_of
from .timers import ClockTimers, Signal

if TYPE_CHECKING:
    from ..core.batcher import MessageBatcher

__all__ = ["Deliverer"]

logger = logging.getLogger(__name__)

#: Seconds between retries of a write a full disk refused (no post starts meanwhile).
HOLD_SECONDS = 1.0


class Deliverer:
    """Posts outbox entries through a sender; shared by every channel worker."""

    def __init__(
        self,
        *,
        batcher: MessageBatcher,
        sender: Sender,
        config: ServiceConfig,
        timers: ClockTimers,
        metrics: DeliveryMetrics,
        rng: random.Random,
        pacer: Pacer | None = None,
    ) -> None:
        self.batcher = batcher
        self.outbox = batcher.outbox
        self.sender = sender
        self.config = config
        self.timers = timers
        self.metrics = metrics
        self.pacer = pacer if pacer is not None else Pacer(config.pacing_policy())
        self.retry: RetryPolicy = config.retry_policy()
        self._rng = rng
        threading = config.enable_threading
        if threading is None:
            threading = batcher.config.enable_threading
        self.threads = bool(threading and getattr(sender, "supports_threads", False))
        self.placement = ThreadPlacement(batcher, config, threads=self.threads)
        #: Live digests need threads and a sender that edits (a webhook has neither).
        self.digests: LiveDigests | None = None
        #: Delivery into live digests (edit, re-post), when there are live digests.
        self.digest_delivery: DigestDelivery | None = None
        if self.threads and can_update(sender):
            self.digests = LiveDigests(batcher)
            updating = cast(UpdatingSender, sender)
            self.digest_delivery = DigestDelivery(
                self.digests,
                updating,
                self,
                timers.clock,
                metrics,
                reply_interval=config.digest_reply_interval_seconds,
                call_budget=config.digest_call_budget,
            )
        self._slots = asyncio.Semaphore(config.max_concurrent_posts)
        self.paused = False
        self._prober: OutboxEntry | None = None
        self.resumed = Signal(timers)
        #: Fires whenever an entry leaves the outbox (the shutdown drain waits on it).
        self.progress = Signal(timers)
        #: Set at the shutdown deadline: no post is started any more (those in flight finish).
        self.stopping = False
        self._posting: set[str] = set()  # channels with a post in flight
        #: Delivered entries whose ack could not be written (a full disk), retried later.
        self.unacked = HeldAcks(batcher.store, self.outbox, metrics)
        #: The service's group commit: delivery's writes of a loop turn join it.
        self.group: GroupCommit | None = None

    # ------------------------------------------------------------------ pause

    def pause(
        self, entry: OutboxEntry, reason: str, now: datetime, code: str | None = None
    ) -> None:
        """Stop all delivery; *entry* becomes the probe that retries until Slack accepts."""
        if not self.paused:
            self.paused = True
            self._prober = entry
            self.metrics.set_paused(now, reason)
            logger.error(
                "Slack rejected the credentials (%s): delivery paused; retrying one post "
                "every %g s until it succeeds or resume() is called",
                reason,
                self.config.auth_probe_interval_seconds,
                extra=entry_fields(entry, error_code=code),
            )

    def resume(self) -> None:
        """Resume delivery after an auth pause (also called when a probe succeeds)."""
        if not self.paused:
            return
        self.paused = False
        if self._prober is not None:
            self._prober.next_attempt_at = None
        self._prober = None
        self.metrics.set_paused(None, None)
        logger.info("delivery resumed")
        self.resumed.fire()

    # --------------------------------------------------------------- delivery

    def is_posting(self, channel: str) -> bool:
        """Return True while a post to *channel* is in flight (sent, answer not yet read)."""
        return channel in self._posting

    @contextlib.contextmanager
    def in_flight(self, channel: str) -> Iterator[None]:
        """Mark a call to Slack for *channel* as in flight (see :meth:`is_posting`)."""
        self._posting.add(channel)
        try:
            yield
        finally:
            self._posting.discard(channel)

    @contextlib.asynccontextmanager
    async def calling(self, channel: str) -> AsyncIterator[None]:
        """Hold one of the concurrent-post slots while calling Slack for *channel*."""
        async with self._slots:
            with self.in_flight(channel):
                yield

    def probe_passed(self, entry: OutboxEntry) -> None:
        """Resume delivery when *entry* is the auth probe and Slack just accepted it."""
        if self.paused and entry is self._prober:
            self.resume()

    async def deliver(self, entry: OutboxEntry, companions: Sequence[OutboxEntry] = ()) -> bool:
        """Post every remaining page of *entry*, then ack it (or dead-letter it).

        *companions* are entries of the same live digest that join it with *entry* (one
        edit); they stay queued and are delivered next as replies. Returns True once the
        entry left the outbox, False when it stays because the
        service is :attr:`stopping` (no new post is started then; progress is saved, so the
        next start resumes at the first page not posted).
        """
        progress = entry.state
        posted = progress.posted
        digests = self.digest_delivery
        digest = digests.plan(entry) if digests is not None else None
        if digest is not None and await self._into_digest(entry, digest, companions):
            return True
        news = digest is None or digests is None or digests.reply_of(entry, digest)
        pages = self.outbox.message_of(entry).pages if news else []  # rendered if deferred
        while len(posted) < len(pages):
            index = len(posted)
            await self.wait_turn(entry)
            if self.stopping:
                return False
            thread_ts = self.placement.thread_for(entry, index)
            page = self._digest_page(entry, index, digest, thread_ts)
            progress.attempting = index
            entry.attempts += 1
            if not await self.save_attempt(entry):
                continue
            try:
                result = await self._post(entry, page, thread_ts)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a sender bug must not kill the channel's worker
                if self.failed(entry, exc):
                    return True
                if self.stopping:
                    return False
                continue
            if result is None:
                return False
            self._posted(entry, index, result)
        if not pages and digest is not None and digest.parent:
            self.placement.keep(entry, digest.parent)  # shown in the parent: its thread is there
        await self._ack(entry)  # first: nothing else written for the post may fail before it
        if digest is not None and digests is not None:
            digests.start(entry, digest)
        now = self.timers.clock.now()
        self.metrics.delivered_entry(len(entry.messages), (now - entry.due_at).total_seconds())
        self.metrics.untrack(entry.id)
        self.progress.fire()
        return True

    async def _into_digest(
        self, entry: OutboxEntry, plan: DigestPlan, companions: Sequence[OutboxEntry]
    ) -> bool:
        """Take *entry* (with *companions*) into its live digest; True if dead-lettered."""
        digests = self.digest_delivery
        return digests is not None and await digests.prepare(entry, plan, companions)

    def _digest_page(
        self, entry: OutboxEntry, index: int, digest: DigestPlan | None, thread_ts: str | None
    ) -> SlackMessage:
        """Return page *index* of *entry*, as its live digest (if any) sends it."""
        page = page_of(entry.message.pages, index, threaded=thread_ts is not None)
        if index == 0 and digest is not None:
            page = DigestDelivery.broadcast(entry, digest, page)
            if not digest.parent and thread_ts is None and self.digests is not None:
                page = self.digests.decorated(page, entry.channel_id, entry.messages, digest.key)
        return page

    async def _post(
        self, entry: OutboxEntry, page: SlackMessage, thread_ts: str | None
    ) -> PostResult | None:
        """Post one page in a free slot; None when the shutdown deadline came first."""
        channel = entry.channel_id
        async with self._slots:
            if self.stopping:  # the deadline passed while waiting for a slot
                entry.state.attempting = None
                entry.attempts -= 1
                self.save_progress(entry)
                return None
            with self.in_flight(channel):
                return await self.sender.post(page, channel=channel, thread_ts=thread_ts)

    def _join(self) -> asyncio.Future[None] | None:
        """Make this turn's store writes part of the service's group commit, if any."""
        return self.group.join(intake=False) if self.group is not None else None

    async def _committed(self) -> bool:
        """Wait for this turn's group commit; False when it failed (its writes are lost)."""
        if self.group is not None and self.group.open:
            try:
                await self.group.join(intake=False)
            except StoreError:
                return False
        return True

    def _posted(self, entry: OutboxEntry, index: int, result: PostResult) -> None:
        """Record that page *index* of *entry* reached Slack."""
        self._join()  # the bookkeeping below (thread map, progress, ack) is one commit
        posted = entry.state.posted
        posted.append(result.ts)
        self.succeeded(entry)
        if index == 0:
            self.placement.keep(entry, result.ts)
        if result.warnings:  # the sender logs them; counted here
            logger.debug(
                "Slack warned about a post to %s: %s",
                entry.channel_id,
                result.warnings,
                extra=entry_fields(entry),
            )
        self.metrics.post_succeeded(entry.channel_id, result.warnings)
        self.probe_passed(entry)
        if len(posted) < len(entry.message.pages):
            self.save_progress(entry)

    def save_progress(self, entry: OutboxEntry) -> bool:
        """Save delivery progress; False when a full disk refused it (logged).

        Progress saved after a post only serves a restart (resume at the right page);
        the "attempting" mark saved before one must be stored first (see :meth:`deliver`).
        """
        try:
            self.outbox.update(entry)
        except StoreFullError as exc:
            logger.warning(
                "could not save the progress of %s: %s",
                entry.id,
                exc,
                extra=entry_fields(entry),
            )
            return False
        return True

    async def save_attempt(self, entry: OutboxEntry) -> bool:
        """Store ``attempting`` before a Slack call; False (after a pause) if refused.

        The call then waits: a restart must know that it may have happened.
        """
        self._join()
        if self.save_progress(entry) and await self._committed():
            return True
        entry.state.attempting = None
        entry.attempts -= 1
        await self.hold_on(entry)
        return False

    async def _ack(self, entry: OutboxEntry) -> None:
        """Acknowledge a delivered entry; when the disk refuses, keep the ack to write later.

        Until it is written no post is started (:meth:`hold_on`), and the entry counts as a
        possible duplicate: a restart meanwhile would post it again.
        """
        self._join()
        try:
            self.outbox.ack(entry.id)
        except StoreFullError as exc:
            self.unacked.hold(entry, exc, counted=False)
            return
        if not await self._committed():  # the ack was undone with its group commit
            self.unacked.hold(entry, "the group commit holding it failed", counted=True)

    def writes_held(self) -> int:
        """Write what a full disk held back (acks, the digest map); return how many still wait."""
        held = self.unacked.retry()
        if self.digests is not None:
            held += self.digests.save_held()
        return held

    async def hold_on(self, entry: OutboxEntry) -> None:
        """Wait :data:`HOLD_SECONDS` (a write was refused), then retry the held writes."""
        until = self.timers.clock.now() + timedelta(seconds=HOLD_SECONDS)
        await self.timers.wait(until)
        self.writes_held()

    async def wait_writable(self, entry: OutboxEntry) -> None:
        """Start no Slack call while the record of an earlier one cannot be written."""
        while self.writes_held() and not self.stopping:
            await self.hold_on(entry)

    @staticmethod
    def succeeded(entry: OutboxEntry) -> None:
        """Clear the failure run of *entry* after a call Slack accepted."""
        entry.state.clear_failures()
        entry.next_attempt_at = None
        entry.last_error = None

    async def wait_turn(self, entry: OutboxEntry) -> None:
        """Wait until no pause, retry delay or pacing limit holds *entry* back."""
        clock = self.timers.clock
        await self.wait_writable(entry)
        while True:
            if self.paused and entry is not self._prober:
                await self.timers.wait(None, self.resumed)
                continue
            now = clock.now()
            if entry.next_attempt_at is not None and entry.next_attempt_at > now:
                await self.timers.wait(entry.next_attempt_at, self.resumed)
                continue
            ready = self.pacer.try_take(entry.channel_id, now)
            if ready is None:
                return
            await self.timers.wait(ready, self.resumed)

    async def wait_channel(self, channel: str) -> None:
        """Wait until no pause, held write or pacing limit holds a call to *channel* back."""
        clock = self.timers.clock
        while not self.stopping:
            if self.paused or self.writes_held():
                later = None if self.paused else clock.now() + timedelta(seconds=HOLD_SECONDS)
                await self.timers.wait(later, self.resumed)
                continue
            ready = self.pacer.try_take(channel, clock.now())
            if ready is None:
                return
            await self.timers.wait(ready, self.resumed)

    # ---------------------------------------------------------------- failure

    def failed(self, entry: OutboxEntry, exc: Exception) -> bool:
        """Handle a failed post; return True when the entry left the outbox."""
        now = self.timers.clock.now()
        progress = entry.state
        failures = progress.failures + 1
        since = progress.failing_since or now
        decision = self.retry.decide(
            exc,
            attempts=failures,
            failing_since=since,
            now=now,
            rand=self._rng.random(),
        )
        progress.attempting = None
        entry.last_error = decision.reason[:500]
        channel = entry.channel_id
        if decision.action is RetryAction.DEAD_LETTER:
            posted = len(progress.posted)
            reason = decision.reason
            if posted:
                reason += f" (pages 1-{posted} of {len(entry.message.pages)} were posted)"
            self.metrics.post_failed(decision.code, rate_limited=False, retried=False, auth=False)
            self.outbox.dead_letter(entry.id, reason, decision.code)
            self.metrics.dead_lettered()
            self.metrics.untrack(entry.id)
            logger.error(
                "dead-lettered post %s to %s: %s",
                entry.id,
                channel,
                reason,
                extra=entry_fields(entry, error_code=decision.code),
            )
            self.progress.fire()
            return True
        if decision.action is RetryAction.PAUSE:
            self.pause(entry, decision.reason, now, decision.code)
            progress.failures = 0
            progress.failing_since = None
            probe = entry is self._prober
            delay = timedelta(seconds=self.config.auth_probe_interval_seconds)
            entry.next_attempt_at = now + delay if probe else None
            self.metrics.post_failed(decision.code, rate_limited=False, retried=False, auth=True)
        else:
            progress.failures = failures
            progress.failing_since = since
            entry.next_attempt_at = now + timedelta(seconds=decision.delay)
            if decision.retry_after:
                self.pacer.block(channel, entry.next_attempt_at)
            if decision.ambiguous:
                self.metrics.count("possible_duplicates")
            self.metrics.post_failed(
                decision.code, rate_limited=decision.rate_limited, retried=True, auth=False
            )
            log = logger.info if decision.retry_after else logger.warning
            log(
                "post %s to %s failed (%s); retry %d in %.1f s",
                entry.id,
                channel,
                decision.reason,
                failures,
                decision.delay,
                extra=entry_fields(entry, error_code=decision.code),
            )
        self.save_progress(entry)
        return False
