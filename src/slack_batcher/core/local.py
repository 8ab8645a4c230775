"""LocalBatches: the pending batches of one process, the default side of the seam.

Channel queues (:mod:`.grouping`) place each message; a deadline index (:mod:`.deadlines`)
finds the due batches without scanning the rest; the store is told of every change before
it is applied, so a store failure leaves the index unchanged. It implements
:class:`~slack_batcher.core.pending.PendingBatches`; the batcher holds the lock.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from ..model.batch import BatchGroup
from ..model.errors import StoreError
from ..model.flush import FlushReason, check_channel_id
from ..model.message import BatchableMessage, BatchType, ContentType
from ..model.similarity import folded
from ..model.stats import StatsContributor
from ..store.base import BatchStore, DeadLetter, OutboxEntry
from .activity import LeastActive
from .deadlines import Deadlines
from .grouping import ChannelQueue
from .grouping.scoring import KEYED_AFTER
from .latency import LeadingEdges
from .pending import Placed
from .recording import StatsRecorder
from .recovery import recover
from .rules import ChannelRules
from .units import DeliveryUnit, Owed

__all__ = ["LocalBatches"]

# The facade's logger: one name for users to tune, whichever module logs.
logger = logging.getLogger("slack_batcher.core.batcher")

_TEAM = BatchType.TEAM_ACTIVITY
_TYPE_OF = {kind: BatchType.for_content_type(kind) for kind in ContentType}


class LocalBatches:
    """Pending batches in this process (see the module docstring).

    *rules_for* gives a channel's rules (for recovery); *on_overflow* is called with
    ``max_channels`` before a channel past the limit opens (it flushes the least active).
    """

    local = True
    #: The outbox of one process needs no leases.
    leases = None

    def __init__(
        self,
        store: BatchStore,
        recorder: StatsRecorder,
        *,
        rules_for: Callable[[str], ChannelRules],
        max_channels: int,
        on_overflow: Callable[[int], object],
    ) -> None:
        self._store = store
        self._recorder = recorder
        self._stats = recorder.stats
        # A store that keeps no batch records (memory) is not called on the hot path.
        self._keeps = store.keeps_batches
        self._rules_for = rules_for
        self._max_channels = max_channels
        self._on_overflow = on_overflow
        #: Channels with pending batches, each with its placement indexes and activity.
        self._channels: dict[str, ChannelQueue] = {}
        self._batches: dict[str, BatchGroup] = {}
        self._least_active = LeastActive()
        self._deadlines = Deadlines(self._batches)
        self._latency = LeadingEdges()
        self._sequence = 0
        self._id_head = f"b_{secrets.token_hex(6)}_"  # a batch id: this and the sequence
        #: Messages placed so far: each queue's ``touched`` stamp (least active: the lowest).
        self._placed = 0
        #: The delivery unit being placed (``begin_unit``), else None.
        self._unit: DeliveryUnit | None = None
        recorder.watch_pending(self._channels)

    def restore(self) -> int:
        """Re-open the batches the store kept (keeping their due times); return the outbox size."""
        state = self._store.load()
        recover(
            state,
            channels=self._channels,
            policy_for=lambda channel_id: self._rules_for(channel_id).policy,
            register=self._register,
            recorder=self._recorder,
        )
        if state.batches or state.outbox:
            logger.info(
                "recovered %d pending batches (%d messages) and %d undelivered posts",
                self._stats.pending_batches,
                self._stats.pending_messages,
                len(state.outbox),
            )
        return len(state.outbox)

    def _register(self, queue: ChannelQueue, batch: BatchGroup) -> None:
        """Make a recovered *batch* pending again (``place`` does this inline for new ones)."""
        queue.add_batch(batch)
        self._batches[batch.id] = batch
        self._deadlines.push(batch)
        self._recorder.recovered_batch()

    # ------------------------------------------------------------------ placing

    def place(  # noqa: C901 - the hot path, flat on purpose
        self, message: BatchableMessage, channel_id: str, rules: ChannelRules, now: datetime
    ) -> Placed:
        """Place *message*; the hot path of the library, kept flat (each call here costs)."""
        queue = self._channels.get(channel_id) if isinstance(channel_id, str) else None
        if queue is None:
            # A channel with pending batches was checked when it opened.
            check_channel_id(channel_id)
        else:
            holder = queue.message_ids.get(message.id)
            if holder is not None:
                return holder.id, True, False, None, None
        # profile_of(message), inlined
        data = message.data
        scope = (data.get("repository") or data.get("project") or data.get("service")) or data.get(
            "team"
        )
        if type(scope) is not str or not scope.islower():  # else already folded
            scope = folded(scope)
        author = message.author
        if author and not author.islower():
            author = author.lower()
        profile = (scope, author or "", message.content_type)
        policy = rules.policy
        partition = policy.partition_of(message, profile) if policy.partitioned else ()
        batch = None
        enabled = rules.enabled
        unit = self._unit
        if queue is not None and enabled:
            if unit is not None:  # a delivery's messages share one batch
                batch = unit.batch_for(channel_id, partition, self._batches)
            if batch is None:
                batch = policy.choose(queue, partition, profile)
        leading = rules.leading and self._latency.quiet(
            channel_id, message, rules.config.digest_by, rules.window, now
        )
        stats = self._stats
        opened = batch is None
        if batch is None:
            if queue is None and len(self._channels) >= self._max_channels:
                self._on_overflow(self._max_channels)
            self._sequence += 1
            members = [message]  # the batch opens holding its first member
            batch = BatchGroup(
                self._id_head + str(self._sequence),
                channel_id,
                _TYPE_OF[message.content_type],
                now,
                now + rules.window,
                members,
                partition=partition,
                size_bytes=message.size_bytes,
            )
            if self._keeps:
                self._store.record_open(batch, message)
            if queue is None:
                queue = policy.new_queue(channel_id)
                queue.stats = self._recorder.channel(channel_id)
                self._channels[channel_id] = queue
            # Pending from now on (a recovered batch: _register).
            queue.open_batch(batch, message, profile)
            self._batches[batch.id] = batch
            # A sliding window's due time moves: it is kept in the heap, not a lane.
            self._deadlines.push(batch, rules.window if rules.sliding_cap is None else None)
            stats.pending_batches += 1
            if stats.pending_batches > stats.peak_concurrent_batches:
                stats.peak_concurrent_batches = stats.pending_batches
        else:
            if self._keeps:
                batch.last_activity = now  # what the store records; harmless if it fails
                self._store.record_add(batch, message)
            if rules.sliding_cap is not None:
                self._slide(batch, now, rules)
            # batch.add_message(message, now), inlined
            members = batch.messages
            members.append(message)
            batch.size_bytes += message.size_bytes
            batch.last_activity = now
            if (
                batch.batch_type is not _TEAM
                and _TYPE_OF[message.content_type] is not batch.batch_type
            ):
                batch.batch_type = _TEAM
            if (
                batch.profiles is None
                and batch.author_types is None
                and len(members) <= KEYED_AFTER
                and batch.scope == scope
            ):  # a small batch of one scope: queue.index_message would only note the id
                queue.message_ids[message.id] = batch  # type: ignore[union-attr]
            else:
                queue.index_message(batch, message, profile)  # type: ignore[union-attr]
        stats.pending_messages += 1
        stats.pending_bytes += message.size_bytes
        self._placed += 1
        queue.batched += 1  # type: ignore[union-attr]
        queue.touched = self._placed  # type: ignore[union-attr]

        reason = None
        if not enabled:
            reason = FlushReason.DISABLED
        elif len(members) >= rules.max_batch_size:
            reason = FlushReason.SIZE
        elif message.priority in rules.urgent:
            reason = FlushReason.URGENT
        elif leading and len(members) == 1:
            reason = FlushReason.LEADING
        if unit is not None:  # the unit flushes once the whole delivery is placed
            unit.hold(channel_id, batch, reason)
            return batch.id, False, opened, None, None
        return batch.id, False, opened, batch if reason else None, reason

    def place_many(
        self, calls: Sequence[tuple[BatchableMessage, str, ChannelRules]], now: datetime
    ) -> tuple[list[Placed], Exception | None]:
        """Place in turn until one claims a batch (flushed before the next) or a store error."""
        placed: list[Placed] = []
        for message, channel_id, rules in calls:
            try:
                done = self.place(message, channel_id, rules, now)
            except StoreError as exc:
                return placed, exc
            placed.append(done)
            if done[3] is not None:
                break
        return placed, None

    def begin_unit(self) -> DeliveryUnit:
        """Place the next messages as one delivery unit (one batch per channel, triggers held)."""
        self._unit = DeliveryUnit()
        return self._unit

    def end_unit(self) -> list[Owed]:
        """Close the unit; return the flushes it owes, of batches still pending."""
        unit, self._unit = self._unit, None
        return [] if unit is None else unit.owed_flushes(self._batches)

    def _slide(self, batch: BatchGroup, now: datetime, rules: ChannelRules) -> None:
        """Move a sliding window's due time to now + window, capped after its opening."""
        assert rules.sliding_cap is not None
        due = min(now + rules.window, batch.created_at + rules.sliding_cap)
        if due > batch.due_at:
            # The earlier entry stays; Deadlines skips it once the batch is due later.
            batch.expires_at = due
            self._deadlines.push(batch)

    def configure(self, channel_id: str, rules: ChannelRules) -> None:
        """Re-index *channel_id*'s open batches by its new *rules*."""
        queue = self._channels.get(channel_id)
        if queue is not None:
            self._channels[channel_id] = rules.policy.reindex(queue)

    # ----------------------------------------------------------------- claiming

    def claim_due(self, now: datetime, limit: int) -> list[BatchGroup]:
        """Return every batch due by *now* (cost: the due ones, not all pending)."""
        return self._deadlines.pop_due(now)

    def claim(self, batch_ids: Iterable[str], now: datetime) -> list[BatchGroup]:
        """Return the pending batches among *batch_ids*."""
        return [b for b in map(self._batches.get, batch_ids) if b is not None]

    def release(self, batches: Iterable[BatchGroup]) -> None:
        """Keep due *batches* that failed to flush in the deadline index."""
        for batch in batches:
            if self._batches.get(batch.id) is batch:
                self._deadlines.push(batch)

    def settle(self, batch: BatchGroup, entry: OutboxEntry | None, now: datetime) -> int:
        """Record *batch* flushed (into *entry*) in the store, then forget it; return 1."""
        if entry is not None or self._keeps:  # else the store has nothing to do
            self._store.record_flush(batch, entry)
        self._forget(batch)
        return 1

    def discard(self, batch: BatchGroup, letter: DeadLetter) -> bool:
        """Record *batch* dead-lettered as *letter*, then forget it."""
        self._store.record_dead_batch(batch, letter)
        self._forget(batch)
        return True

    def _forget(self, batch: BatchGroup) -> None:
        if self._batches.pop(batch.id, None) is None:
            return  # not pending (any more)
        self._deadlines.left(batch)
        queue = self._channels.get(batch.channel_id)
        if queue is not None:
            queue.remove_batch(batch)
            if not queue.open_count:
                del self._channels[batch.channel_id]
                self._recorder.closed(batch.channel_id, queue, queue.stats)
        self._recorder.left(batch)

    # ------------------------------------------------------------------ viewing

    def get(self, batch_id: str) -> BatchGroup | None:
        """Return one pending batch, or None."""
        return self._batches.get(batch_id)

    def batch_ids(self, channel_id: str | None = None) -> list[str]:
        """Return pending batch ids (of one channel), in opening order."""
        if channel_id is None:
            return list(self._batches)
        queue = self._channels.get(channel_id)
        return list(queue.batches) if queue else []

    def oldest_id(self) -> str | None:
        """Return the id of the pending batch opened first, or None."""
        return next(iter(self._batches), None)

    def stale_ids(self, cutoff: datetime) -> list[str]:
        """Return the ids of batches opened at or before *cutoff*."""
        return [b.id for b in self._batches.values() if b.created_at <= cutoff]

    def view(self, channel_id: str | None = None) -> dict[str, list[BatchGroup]]:
        """Return the pending batches by channel, in opening order."""
        return {
            cid: list(queue.batches.values())
            for cid, queue in self._channels.items()
            if channel_id is None or cid == channel_id
        }

    def next_due(self, now: datetime) -> datetime | None:
        """Return when the next pending batch falls due, or None."""
        return self._deadlines.next_due()

    def placed_due(self) -> datetime | None:
        """Return when the next pending batch falls due (known here: no round trip)."""
        return self._deadlines.next_due()

    def channels(self) -> Mapping[str, ChannelQueue]:
        """Return the channels with pending batches."""
        return self._channels

    def channel_count(self) -> int:
        """Return how many channels have pending batches."""
        return len(self._channels)

    def least_active_channel(self) -> str | None:
        """Return the channel with pending batches that was least recently active, or None."""
        return self._least_active.find(self._channels)

    def due_times(self) -> list[datetime]:
        """Return every pending batch's due time."""
        return [b.due_at for b in self._batches.values()]

    def figures(self) -> dict[str, Any]:
        """Return nothing: the counted figures are this index's own."""
        return {}

    def contributors(self) -> list[StatsContributor]:
        """Return no contributor."""
        return []

    def close(self) -> None:
        """Nothing to let go of: the batcher closes the store."""
