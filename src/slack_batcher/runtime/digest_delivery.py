"""Delivering an outbox entry into a live digest: edit the digest post, then its thread.

:class:`DigestDelivery` decides once per outbox entry (a :class:`DigestPlan` saved with the
entry's progress) where a live digest (:mod:`.digests`) sends it: ``parent`` is the digest
post's ``ts`` (None: a new top-level post that becomes the digest of its key). Into an
existing digest the steps are, in order (:class:`DigestStep`):

1. ``update``: edit the parent to the running summary, now with the entry's items — or,
   while the digest is small (:func:`.digest_joins.small_join_of`), to the listing of all
   its items: then nothing goes to a thread and the join is this one call;
2. ``convert``: the first time a digest outgrows that, re-post what the parent listed in
   the thread (those items were shown only in the parent until the edit);
3. ``replies``: the entry's news goes to the thread (the entry deliverer posts it).

The edit comes first so that an edit Slack refuses for good (``message_not_found``,
``cant_update_message``, ``edit_window_closed``) has copied nothing into the thread: the
entry starts a new digest and every item is shown once. (Rows saved by earlier versions,
which re-posted before editing, may have re-posted already: those items are counted as
possible duplicates.) Each step is paced and retried like a post.

It talks to the entry deliverer only through :class:`DeliveryCalls`: pacing, the call
slots, progress, success and failure. The deliverer imports this module, never the reverse.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

from ..core.log_fields import entry_fields
from ..delivery.base import UpdatingSender
from ..delivery.classify import is_auth_error
from ..formatting.message import SlackMessage
from ..model.batch import BatchGroup
from ..model.clock import Clock
from ..model.digest_key import digest_key
from ..model.errors import PermanentDeliveryError
from ..model.progress import DigestPlan, DigestStep
from ..store.base import DigestRecord, OutboxEntry
from .digest_budget import DigestBudget
from .digest_catch_up import CatchUps, reposts
from .digest_joins import Join, join_of, reply_of, small_join_of
from .digests import LiveDigests, is_critical
from .metrics import DeliveryMetrics

__all__ = ["DeliveryCalls", "DigestDelivery"]

logger = logging.getLogger(__name__)

#: Digest keys of queued entries remembered for the companion scan.
_MAX_KEYS = 4096


class DeliveryCalls(Protocol):
    """What the digest steps need from the entry deliverer (:class:`~.posting.Deliverer`)."""

    @property
    def stopping(self) -> bool:
        """True once no new call may start (the shutdown deadline passed)."""
        ...

    async def wait_turn(self, entry: OutboxEntry) -> None:
        """Wait until no pause, retry delay or pacing limit holds *entry* back."""
        ...

    async def wait_channel(self, channel: str) -> None:
        """Wait until no pause or pacing limit holds a call to *channel* back."""
        ...

    def calling(self, channel: str) -> AbstractAsyncContextManager[None]:
        """Hold a call slot for *channel* while calling Slack."""
        ...

    def save_progress(self, entry: OutboxEntry) -> bool:
        """Save *entry*'s delivery progress; False when a full disk refused it."""
        ...

    async def save_attempt(self, entry: OutboxEntry) -> bool:
        """Store ``attempting`` before a call; False (after a pause) when it was refused."""
        ...

    def succeeded(self, entry: OutboxEntry) -> None:
        """Clear *entry*'s failure run after a call Slack accepted."""
        ...

    def failed(self, entry: OutboxEntry, exc: Exception) -> bool:
        """Handle a failed call; True when *entry* left the outbox (dead-lettered)."""
        ...

    def probe_passed(self, entry: OutboxEntry) -> None:
        """Resume delivery if *entry* was the auth probe."""
        ...


class DigestDelivery:
    """The live-digest part of delivering an entry: hold, plan, edit, re-post, start."""

    def __init__(
        self,
        digests: LiveDigests,
        sender: UpdatingSender,
        calls: DeliveryCalls,
        clock: Clock,
        metrics: DeliveryMetrics,
        *,
        reply_interval: float = 0.0,
        call_budget: bool = False,
    ) -> None:
        self.digests = digests
        self._sender = sender
        self._calls = calls
        self._clock = clock
        self._metrics = metrics
        self._interval = timedelta(seconds=reply_interval)
        self.budget = DigestBudget()
        self._call_budget = call_budget
        #: Parents the budget left stale, edited once their digest goes quiet.
        self.catch_ups = CatchUps(
            digests, sender, calls, clock, metrics, self.budget, quiet=reply_interval
        )
        self._keys: dict[str, str] = {}  # queued entry id -> digest key ("" for none)
        self._shared = digests.store.shared_store() is not None

    def key_for(self, entry: OutboxEntry) -> str | None:
        """Return the digest key *entry* goes to, or None when it goes to no live digest."""
        plan = entry.state.digest
        if plan is not None:
            return plan.key
        if entry.state.posted or not self.digests.enabled(entry.channel_id):
            return None
        return self.digests.key_for(entry)

    def defers(self, batch: BatchGroup) -> bool:
        """Return True when *batch*, flushed now, joins a live digest (its render may wait).

        Such a batch's own post is shown only if it joins alone and all of it is news, or
        if its digest is gone by its delivery: the deliverer renders it then. Otherwise
        (a digest's listing, or a reply of several flushes) it would be rendered for
        nothing (see ``Flusher.defer_render``).
        """
        channel = batch.channel_id
        if self._shared or not self.digests.enabled(channel):
            return False  # shared: a look-up per flush would be a round trip to Redis
        by = self.digests.config(channel).digest_by
        key = f"{channel}\x1f{digest_key(batch.messages, by)}"
        return self.digests.find(key, self._clock.now(), len(batch.messages)) is not None

    def hold_until(self, entry: OutboxEntry) -> datetime | None:
        """Return when *entry* may go into its live digest, or None when it may go now.

        News goes to a digest at most once per ``digest_reply_interval``: a flush arriving
        sooner waits for the interval's end and goes with the others that arrived by then
        (:meth:`companions`). A critical item never waits.
        """
        if not self._interval or not _fresh(entry) or is_critical(entry.messages):
            return None
        key = self.key_for(entry)
        if key is None:
            return None
        now = self._clock.now()
        record = self.digests.find(key, now, len(entry.messages))
        if record is None:
            return None
        due = record.updated_at + self._interval
        return due if due > now else None

    def companions(self, entry: OutboxEntry, queued: Iterable[OutboxEntry]) -> list[OutboxEntry]:
        """Return the *queued* entries that go into *entry*'s digest with it (same key)."""
        key = self.key_for(entry)
        if key is None:
            return []
        return [
            other
            for other in queued
            if other is not entry and _fresh(other) and self._queued_key(other) == key
        ]

    def _queued_key(self, entry: OutboxEntry) -> str | None:
        """Return :meth:`key_for` of a queued entry, worked out once per entry.

        A backlog is scanned at every delivery; a queued entry's items do not change.
        """
        if entry.state.digest is not None or entry.state.posted:
            return self.key_for(entry)
        key = self._keys.get(entry.id)
        if key is None:
            if len(self._keys) >= _MAX_KEYS:
                self._keys.pop(next(iter(self._keys)))
            key = self._keys[entry.id] = self.key_for(entry) or ""
        return key or None

    def plan(self, entry: OutboxEntry) -> DigestPlan | None:
        """Return (deciding once) where a live digest sends *entry*.

        The plan is saved with the entry's progress by the first step that follows it, always
        before a Slack call: one not saved (a stop in between) is decided again.
        """
        progress = entry.state
        if progress.digest is not None:
            return progress.digest
        key = self.key_for(entry)
        if key is None:
            return None
        now = self._clock.now()
        record = self.digests.find(key, now, len(entry.messages))
        if record is None:  # the related digest that took news last, if any is live
            related = (
                (found, other)
                for other in self.digests.related_keys(entry, key)
                if (found := self.digests.find(other, now, len(entry.messages))) is not None
            )
            record, key = max(related, key=lambda pair: pair[0].updated_at, default=(None, key))
        progress.digest = DigestPlan(key=key, parent=record.ts if record else None)
        return progress.digest

    async def prepare(
        self, entry: OutboxEntry, plan: DigestPlan, companions: Sequence[OutboxEntry] = ()
    ) -> bool:
        """Take *entry* into its digest up to its replies; True if it was dead-lettered.

        *companions* (entries of the same digest, not started) join the digest with it, in
        one edit; each is then delivered as a reply. Afterwards ``plan.parent`` is the
        thread for the entry's pages, or None when the entry is to be posted at the top
        level (a new digest).
        """
        calls = self._calls
        while plan.parent and plan.step is not DigestStep.REPLIES and not calls.stopping:
            if await self._step(entry, plan, companions):
                return True
        return False

    @staticmethod
    def broadcast(entry: OutboxEntry, plan: DigestPlan, page: SlackMessage) -> SlackMessage:
        """Return page 1 of a digest reply holding a critical item as a broadcast reply."""
        if plan.parent and is_critical(entry.messages):
            return replace(page, metadata={**page.metadata, "reply_broadcast": True})
        return page

    def start(self, entry: OutboxEntry, plan: DigestPlan) -> None:
        """Make *entry*'s first post the live digest of *plan*'s key (after it was delivered)."""
        progress = entry.state
        ts = progress.posted[0] if progress.posted else None
        if plan.parent or ts is None or progress.parent_ts is not None:
            return  # in a digest already, no ts, or a reply in a related thread
        try:
            self.digests.start(entry, plan.key, ts, self._clock.now())
        except Exception:  # the post is out; a store failure only costs the digest
            logger.exception(
                "could not remember the live digest of %s",
                entry.channel_id,
                extra=entry_fields(entry),
            )
            return
        self._metrics.count("digests_started")

    async def _step(
        self, entry: OutboxEntry, plan: DigestPlan, companions: Sequence[OutboxEntry]
    ) -> bool:
        """Join (editing the parent if the budget allows), or re-post; True if dead-lettered.

        The re-post that follows a digest's first edit is made at once, in the same call
        slot: a shutdown between the two would leave the parent a summary of items its
        thread does not show yet.
        """
        calls = self._calls
        await calls.wait_turn(entry)
        if calls.stopping:
            return False
        record = self.digests.get(plan.key, self._clock.now())
        if record is None or record.ts != plan.parent:
            self._restart(entry, plan, "it expired or was replaced", forget=False)
            return False
        step = plan.step = _next_step(record, entry, plan)
        if step is DigestStep.REPLIES:
            calls.save_progress(entry)
            return False
        if step is DigestStep.UPDATE:
            group = [entry, *(c for c in companions if c.id not in record.entries)]
            now = self._clock.now()
            join = small_join_of(self.digests, record, group, now) or join_of(
                self.digests, record, group, now, repost=reposts(record)
            )
            due, catch_up = self._edit_due(record, group, join)
            if not due:  # a join with no edit does not re-post (:meth:`_edit_due`)
                self.catch_ups.mark(self._joined(record, group, plan, join, edited=None), catch_up)
                return False
        else:
            group = [entry]
            join = Join(record, (len(record.messages), len(record.messages)))  # not used
        async with calls.calling(entry.channel_id):
            done = await self._take(entry, plan, record, step, group, join)
            if isinstance(done, DigestRecord) and plan.step is DigestStep.CONVERT:
                done = await self._take(entry, plan, done, DigestStep.CONVERT, group, join)
        return done is True

    def reply_of(self, entry: OutboxEntry, plan: DigestPlan) -> bool:
        """Make *entry*'s message its digest reply; False: none (:func:`.digest_joins.reply_of`)."""
        return reply_of(self.digests, entry, plan, self._clock.now())

    def _edit_due(
        self, record: DigestRecord, group: Sequence[OutboxEntry], join: Join
    ) -> tuple[bool, datetime | None]:
        """Return whether this join edits the parent, and when a parent it leaves is caught up.

        With a Slack-call budget kept, a converted digest's parent is edited only when the
        budget pays for it and not within :data:`~.digest_budget.EDIT_SPACING` of its last
        edit (then caught up when the spacing ends; else once its key goes quiet). A digest
        with no thread yet is always edited: the edit is how a small digest's parent lists
        the new items, or the conversion that puts what it listed in the thread (the parent
        must not list some items while the thread holds others).
        """
        if not self._call_budget or reposts(record):
            return True, None
        events = sum(len(e.messages) for e in group)
        replies = join.record.replies - record.replies
        if not self.budget.affords_edit(record, events=events, replies=replies):
            return False, None
        spaced = self.budget.next_edit(record)
        if spaced is not None and spaced > self._clock.now():
            return False, spaced
        return True, None

    def _joined(
        self,
        record: DigestRecord,
        group: Sequence[OutboxEntry],
        plan: DigestPlan,
        join: Join,
        *,
        edited: SlackMessage | None,
    ) -> DigestRecord:
        """Record that *group* joined *record* (its parent now showing *edited*, if edited).

        The first entry's reply shows the group's news (``join.span``); the others post
        nothing of their own. The entries' progress is saved before the record: a crash in
        between leaves an entry the record does not hold, which joins again (an edit at
        most repeated).
        """
        joined = join.record
        end = join.span[1]
        for other in group[1:]:
            other.state.digest = DigestPlan(plan.key, plan.parent, DigestStep.REPLIES, (end, end))
            self._calls.save_progress(other)
        repost = edited is not None and reposts(joined) and not join.listing
        plan.step = DigestStep.CONVERT if repost else DigestStep.REPLIES
        plan.news = join.span
        self._calls.save_progress(group[0])
        self.digests.save(joined)
        if edited is not None:
            self.budget.edited(record, edited.blocks, self._clock.now())
            self._metrics.count("digest_updates")
        self.catch_ups.clear(record)  # edited, or it already shows this summary
        return joined

    async def _take(
        self,
        entry: OutboxEntry,
        plan: DigestPlan,
        record: DigestRecord,
        step: DigestStep,
        group: Sequence[OutboxEntry],
        join: Join,
    ) -> DigestRecord | bool:
        """Make *step*'s call and record it: the record after it, or True if dead-lettered.

        False: the step is not done (a retry is due, or the digest was given up).
        """
        calls = self._calls
        entry.attempts += 1
        if step is DigestStep.CONVERT:  # a re-post caught mid-call by a crash may appear twice
            entry.state.attempting = DigestStep.CONVERT
            if not await calls.save_attempt(entry):  # stored first, or the re-post waits
                return False
        else:
            calls.save_progress(entry)
        try:
            if step is DigestStep.CONVERT:
                await self._repost(record)
            else:
                summary = await self._edit(record, join)
        except asyncio.CancelledError:
            raise
        except PermanentDeliveryError as exc:
            entry.state.attempting = None
            if is_auth_error(exc.code):
                return calls.failed(entry, exc)
            if step is DigestStep.UPDATE:
                self._count_reposted(entry, record)
            self._restart(entry, plan, f"the {step.value} was refused: {exc.code}", forget=True)
            return False
        except Exception as exc:
            return calls.failed(entry, exc)
        calls.succeeded(entry)
        if step is DigestStep.CONVERT:
            after = self.digests.converted(record)
            if self.digests.holds(plan.key):  # a restart before it is written re-posts it
                self._metrics.count("possible_duplicates")
            self._metrics.post_succeeded(entry.channel_id, [])
            plan.step = DigestStep.REPLIES
            calls.save_progress(entry)
        else:
            after = self._joined(record, group, plan, join, edited=summary)
        calls.probe_passed(entry)
        return after

    async def _repost(self, record: DigestRecord) -> None:
        """Re-post what the parent listed in the thread (its items leave the parent)."""
        page = self.digests.first_post_reply(record)
        if page is not None:
            await self._sender.post(page, channel=record.channel_id, thread_ts=record.ts)

    async def _edit(self, record: DigestRecord, join: Join) -> SlackMessage | None:
        """Edit the parent to the summary after *join*; None when it shows that already.

        A small digest's parent becomes the listing of all its items instead.
        """
        if join.listing:
            listing = self.digests.current_parent(join.record)
            if not self.budget.changes(record, listing.blocks):
                return None
            await self._sender.update(listing, channel=record.channel_id, ts=record.ts)
            return listing
        repost = reposts(record)
        summary = self.digests.summary(join.record)
        if not repost and not self.budget.changes(record, summary.blocks):
            return None
        await self._sender.update(summary, channel=record.channel_id, ts=record.ts)
        return summary

    def _count_reposted(self, entry: OutboxEntry, record: DigestRecord) -> None:
        """Count the first post's items as possible duplicates if they were re-posted.

        Only a row of an earlier version re-posted them in the thread before the first
        edit; this edit was refused, so the parent still shows them too.
        """
        if record.converted and len(record.entries) == 1:
            self._metrics.count("possible_duplicates", len(record.messages))
            logger.warning(
                "live digest %s in %s: its first post was re-posted in its thread but can "
                "no longer be edited: %d items may appear twice",
                record.ts,
                entry.channel_id,
                len(record.messages),
                extra=entry_fields(entry),
            )

    def _restart(self, entry: OutboxEntry, plan: DigestPlan, why: str, *, forget: bool) -> None:
        """Post *entry* as a new top-level post (a new digest) instead of into *plan*'s."""
        logger.info(
            "live digest %s in %s: %s; starting a new one",
            plan.parent,
            entry.channel_id,
            why,
            extra=entry_fields(entry),
        )
        if forget:
            self.digests.forget(plan.key)
        plan.parent = None
        plan.step = None
        self._metrics.count("digests_restarted")
        self._calls.save_progress(entry)


def _next_step(record: DigestRecord, entry: OutboxEntry, plan: DigestPlan) -> DigestStep:
    """Return the step *entry* takes next into the digest *record* (read from the store).

    The join is done once the record lists the entry; the re-post only follows an edit
    (``plan.step`` says so) and is done once the record says ``converted``. A retry after a
    crash — or a row of an earlier version, which re-posted before editing — resumes at
    the step not done.
    """
    if entry.id not in record.entries:
        return DigestStep.UPDATE
    if plan.step is DigestStep.CONVERT and not record.converted and record.first_post:
        return DigestStep.CONVERT
    return DigestStep.REPLIES


def _fresh(entry: OutboxEntry) -> bool:
    """Return True for an entry not yet started: nothing posted, no digest step taken."""
    progress = entry.state
    plan = progress.digest
    return not progress.posted and (plan is None or (plan.parent is None or plan.step is None))
