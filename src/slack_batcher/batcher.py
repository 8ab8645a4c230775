"""MessageBatcher: the synchronous, deterministic core.

It places each message in a batch of its channel (see ``grouping.py``), flushes a batch when
it is full, urgent, due, or asked to, and renders it into a :class:`SlackMessage`. Time comes
from the injected clock; state changes go through the injected store first, so a store
failure leaves the batcher unchanged.

Thread safety: every public method takes one re-entrant lock, so a batcher may be shared by
threads; calls are serialised.

Delivery tracking (``auto_ack``): a library user who posts what ``add_message`` and the
``flush_*`` methods return needs no bookkeeping, so by default those messages count as
delivered when returned. Messages flushed on a side path (channel overflow, memory pressure,
replay, leaving a ``with`` block) go to the outbox instead and are handed over by the next
``flush_*`` call. With ``auto_ack=False`` (the runtime) every flush goes to the outbox and
stays there until :meth:`ack` or :meth:`dead_letter_outbox`.
"""

from __future__ import annotations

import heapq
import logging
import secrets
import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from .batch import BatchGroup
from .clock import Clock, SystemClock
from .config import BatchConfig
from .error_handler import BatchErrorHandler
from .errors import FormatterError, InvalidMessageError, MessageTooLargeError
from .formatting.context import BatchFormatterContext
from .formatting.factory import SlackMessageFormatterFactory
from .formatting.fallback import format_fallback
from .formatting.message import SlackMessage
from .grouping import ChannelQueue, GroupingPolicy, profile_of
from .health import evaluate_health
from .models import BatchableMessage, BatchType
from .stats import ChannelStats, GlobalBatchStats, StatsContributor
from .store.base import BatchStore, DeadLetter, OutboxEntry
from .store.memory import MemoryStore

__all__ = ["AddResult", "MessageBatcher"]

logger = logging.getLogger(__name__)

MAX_CHANNEL_ID_LENGTH = 255
#: Rough per-message cost of the Python objects around a message's data, for the memory estimate.
MESSAGE_OVERHEAD_BYTES = 400
#: Recent operations remembered for the health check's error rate.
_ERROR_WINDOW = 1000
#: Flush reasons whose messages are returned to the caller (auto-ack applies to them).
_RETURNED = True
_SIDE_PATH = False


@dataclass(slots=True)
class AddResult:
    """What happened to one added message.

    ``batch_id`` is the batch it joined (for a duplicate: the batch already holding that id);
    ``flushed`` is the SlackMessage when adding it flushed the batch, with ``flush_reason``
    ``"size"`` or ``"urgent"``.
    """

    batch_id: str
    duplicate: bool = False
    flushed: SlackMessage | None = None
    flush_reason: str | None = None


class MessageBatcher:
    """Channel-aware batching of Slack notifications.

    ``MessageBatcher(config, formatter_factory, clock=, store=, auto_ack=)``: all optional.
    An invalid *config* raises :class:`~slack_batcher.errors.ConfigError` listing every
    problem. With a durable *store*, pending batches, the outbox and dead letters are
    recovered on construction, each batch keeping its original due time.
    """

    def __init__(
        self,
        config: BatchConfig | None = None,
        formatter_factory: SlackMessageFormatterFactory | None = None,
        *,
        clock: Clock | None = None,
        store: BatchStore | None = None,
        auto_ack: bool = True,
    ) -> None:
        self.config = config if config is not None else BatchConfig()
        self.config.ensure_valid()
        self.formatter_factory = formatter_factory
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.store: BatchStore = store if store is not None else MemoryStore()
        self.auto_ack = auto_ack
        self.error_handler = BatchErrorHandler(self)
        self._policy = GroupingPolicy(self.config.strategies, self.config.similarity_threshold)
        self._urgent = frozenset(self.config.urgent_priorities)
        self._enabled = self.config.enabled
        self._max_batch_size = self.config.max_batch_size
        self._max_message_bytes = self.config.max_message_bytes
        # The memory store's batch records are no-ops: skip the calls on the hot path.
        self._store_keeps_batches = not isinstance(self.store, MemoryStore)
        self._window = self.config.max_batch_age
        self._lock = threading.RLock()
        self._channels: OrderedDict[str, ChannelQueue] = OrderedDict()
        self._batches: dict[str, BatchGroup] = {}
        self._deadlines: list[tuple[datetime, int, str]] = []
        self._sequence = 0
        self._id_prefix = secrets.token_hex(6)
        self._channel_stats: OrderedDict[str, ChannelStats] = OrderedDict()
        self._stats_retention = max(1000, 10 * self.config.max_channels)
        self._stats = GlobalBatchStats(started_at=self.clock.now())
        self._recent_errors: deque[bool] = deque(maxlen=_ERROR_WINDOW)
        self._outbox_count = 0
        self._contributors: list[StatsContributor] = []
        self._outbox_listeners: list[Callable[[OutboxEntry], None]] = []
        self._recover()

    # ------------------------------------------------------------------ adding

    def add_message(
        self, message: BatchableMessage, channel_id: str = "default"
    ) -> SlackMessage | None:
        """Add *message* to *channel_id*'s batches; return a SlackMessage if a batch flushed.

        A batch flushes when it reaches ``max_batch_size`` or when an urgent-priority message
        joins it. A message id already pending in the channel is ignored (and counted).
        Invalid input raises :class:`~slack_batcher.errors.InvalidMessageError` naming the
        field; nothing is stored then.
        """
        return self._add(message, channel_id, _RETURNED)[1]

    def add(self, message: BatchableMessage, channel_id: str = "default") -> AddResult:
        """Like :meth:`add_message`, but say which batch the message joined and why it flushed."""
        batch_id, flushed, reason, duplicate = self._add(message, channel_id, _RETURNED)
        return AddResult(batch_id, duplicate, flushed, reason)

    def _add(  # noqa: C901 - the hot path, flat on purpose
        self, message: BatchableMessage, channel_id: str, returned: bool
    ) -> tuple[str, SlackMessage | None, str | None, bool]:
        """Place *message*; return (batch id, flushed message, flush reason, duplicate).

        The hot path of the library: kept flat on purpose (each call here costs).
        """
        if (
            type(message) is not BatchableMessage
            or type(channel_id) is not str
            or not channel_id
            or len(channel_id) > MAX_CHANNEL_ID_LENGTH
            or channel_id.isspace()
            or message.size_bytes > self._max_message_bytes
        ):
            self.check_message(message, channel_id)  # raises, naming the field
        with self._lock:
            stats = self._stats
            stats.messages_received += 1
            queue = self._channels.get(channel_id)
            if queue is not None:
                holder = queue.message_ids.get(message.id)
                if holder is not None:
                    stats.duplicates += 1
                    self._channel_stats_for(channel_id).duplicates += 1
                    return holder.id, None, None, True
            now = self.clock.now()
            profile = profile_of(message)
            policy = self._policy
            partition = policy.partition_of(message, profile) if policy.partitioned else ()
            batch = None
            if queue is not None and self._enabled:
                batch = policy.choose(queue, partition, profile)
            if batch is None:
                if queue is None and len(self._channels) >= self.config.max_channels:
                    self.error_handler.handle_channel_overflow(self.config.max_channels)
                batch = self._new_batch(channel_id, message, partition, now)
                if self._store_keeps_batches:
                    self._store_call(self.store.record_open, batch, message)
                if queue is None:
                    queue = ChannelQueue(channel_id)
                    self._channels[channel_id] = queue
                self._register_batch(queue, batch)
            else:
                if self._store_keeps_batches:
                    batch.last_activity = now  # what the store records; harmless if it fails
                    self._store_call(self.store.record_add, batch, message)
                self._channels.move_to_end(channel_id)
            batch.add_message(message, now)
            queue.index_message(batch, message, profile)  # type: ignore[union-attr]

            size = message.size_bytes
            stats.messages_batched += 1
            stats.pending_messages += 1
            stats.pending_bytes += size
            stats.messages_by_type[message.content_type] += 1
            stats.operations += 1
            self._recent_errors.append(False)
            channel_stats = self._channel_stats.get(channel_id)
            if channel_stats is None:
                channel_stats = self._channel_stats_for(channel_id)
            channel_stats.messages_batched += 1
            channel_stats.last_activity = now

            reason = None
            if not self._enabled:
                reason = "disabled"
            elif len(batch.messages) >= self._max_batch_size:
                reason = "size"
            elif message.priority in self._urgent:
                reason = "urgent"
            flushed = self._flush(batch, reason, returned=returned) if reason else None
            budget = self.config.memory_budget_bytes
            if budget is not None and self._memory_estimate() > budget:
                self.error_handler.handle_memory_pressure(budget / (1024 * 1024))
            return batch.id, flushed, reason, False

    def check_message(self, message: object, channel_id: object) -> None:
        """Raise :class:`~slack_batcher.errors.InvalidMessageError` if *add* would refuse it.

        Checks the message type, the channel id and the configured size limit (a refusal
        for size is counted in ``rejected``); stores nothing. Lets a caller check a whole
        request before adding any of it.
        """
        if not isinstance(message, BatchableMessage):
            raise InvalidMessageError(
                "message", f"expected a BatchableMessage, got {type(message).__name__}"
            )
        if not isinstance(channel_id, str) or not channel_id.strip():
            raise InvalidMessageError("channel_id", "must be a non-empty string")
        if len(channel_id) > MAX_CHANNEL_ID_LENGTH:
            raise InvalidMessageError(
                "channel_id", f"is {len(channel_id)} characters; at most {MAX_CHANNEL_ID_LENGTH}"
            )
        limit = self.config.max_message_bytes
        if message.size_bytes > limit:
            with self._lock:
                self._stats.rejected += 1
            raise MessageTooLargeError(
                "data",
                f"message {message.id!r} is {message.size_bytes} bytes; the limit is {limit}",
            )

    def _new_batch(
        self, channel_id: str, message: BatchableMessage, partition: tuple[str, ...], now: datetime
    ) -> BatchGroup:
        self._sequence += 1
        return BatchGroup(
            id=f"b_{self._id_prefix}_{self._sequence}",
            channel_id=channel_id,
            batch_type=BatchType.for_content_type(message.content_type),
            created_at=now,
            expires_at=now + self._window,
            partition=partition,
        )

    def _register_batch(
        self, queue: ChannelQueue, batch: BatchGroup, *, recovered: bool = False
    ) -> None:
        queue.add_batch(batch)
        self._batches[batch.id] = batch
        self._sequence += 1
        heapq.heappush(self._deadlines, (batch.expires_at, self._sequence, batch.id))
        stats = self._stats
        stats.pending_batches += 1
        stats.peak_concurrent_batches = max(stats.peak_concurrent_batches, stats.pending_batches)
        if recovered:
            stats.batches_recovered += 1
            return
        stats.batches_created += 1
        self._channel_stats_for(batch.channel_id).batches_created += 1

    def _count_recovered(self, channel_id: str, message: BatchableMessage, when: datetime) -> None:
        """Count a message recovered from the store: pending again, not batched anew."""
        stats = self._stats
        stats.messages_recovered += 1
        stats.pending_messages += 1
        stats.pending_bytes += message.size_bytes
        channel = self._channel_stats_for(channel_id)
        channel.last_activity = max(channel.last_activity or when, when)

    # ---------------------------------------------------------------- flushing

    def _flush(self, batch: BatchGroup, reason: str, *, returned: bool) -> SlackMessage:
        """Render *batch*, record it as flushed (into the outbox when tracked) and forget it."""
        message = self._render(batch)
        now = self.clock.now()
        tracked = not (returned and self.auto_ack)
        entry = None
        if tracked:
            entry = OutboxEntry(
                id=batch.id,
                channel_id=batch.channel_id,
                batch_id=batch.id,
                message=message,
                messages=list(batch.messages),
                flushed_at=now,
                due_at=min(batch.expires_at, now),
                reason=reason,
            )
        self._store_call(self.store.record_flush, batch, entry)
        self._forget(batch)
        if entry is not None:
            self._outbox_count += 1
            for listener in self._outbox_listeners:
                try:
                    listener(entry)
                except Exception:
                    logger.exception("outbox listener %r failed", listener)
        waited = max((now - batch.created_at).total_seconds(), 0.0)
        stats = self._stats
        stats.batches_sent += 1
        stats.messages_sent += len(batch.messages)
        stats.seconds_to_send += waited
        stats.flush_reasons[reason] += 1
        stats.batches_by_type[batch.batch_type.value] += 1
        self._channel_stats_for(batch.channel_id).record_sent(len(batch.messages), waited)
        logger.debug("flushed batch %s (%s, %d messages)", batch.id, reason, len(batch.messages))
        return message

    def _render(self, batch: BatchGroup, *, preview: bool = False) -> SlackMessage:
        """Format *batch*; a preview counts nothing and always falls back on errors."""
        config = self.config
        context = BatchFormatterContext.from_batch(
            batch,
            formatter_factory=self.formatter_factory,
            priority_ordering=config.priority_ordering,
            enable_pagination=config.enable_pagination,
            items_per_page=config.items_per_page,
        )
        factory = self.formatter_factory if config.enable_formatter_integration else None
        stats = self._stats
        if factory is None:
            message = format_fallback(context)
            stats.fallback_used += not preview
        else:
            try:
                message = factory.format_batch(context)
                stats.formatter_used += not preview
            except Exception as exc:
                if preview:
                    message = format_fallback(context, reason=f"{type(exc).__name__}: {exc}")
                else:
                    stats.formatter_errors += 1
                    self._record_error()
                    if not config.fallback_formatting:
                        raise FormatterError(f"formatting batch {batch.id} failed: {exc}") from exc
                    message = self.error_handler.handle_formatter_error(batch, exc)
                    stats.fallback_used += 1
        message.channel = batch.channel_id
        message.metadata.setdefault("batch_id", batch.id)
        message.metadata.setdefault("channel", batch.channel_id)
        message.metadata.setdefault("message_count", len(batch.messages))
        message.metadata.setdefault("message_ids", [m.id for m in batch.messages])
        for page in message.continuations:
            page.channel = batch.channel_id
        return message

    def preview_batch(self, batch_id: str) -> SlackMessage | None:
        """Render a pending batch as it would be posted now, without flushing or counting it.

        Returns None when no pending batch has that id. A failing formatter shows the
        fallback rendering, whatever ``fallback_formatting`` says.
        """
        with self._lock:
            batch = self._batches.get(batch_id)
            return None if batch is None else self._render(batch, preview=True)

    def _forget(self, batch: BatchGroup) -> None:
        queue = self._channels.get(batch.channel_id)
        if queue is not None:
            queue.remove_batch(batch)
            if not queue.batches:
                del self._channels[batch.channel_id]
        if self._batches.pop(batch.id, None) is not None:
            stats = self._stats
            stats.pending_batches -= 1
            stats.pending_messages -= len(batch.messages)
            stats.pending_bytes -= batch.size_bytes

    def _flush_many(
        self, batches: list[BatchGroup], reason: str, *, returned: bool
    ) -> dict[str, list[SlackMessage]]:
        """Flush each batch; one failing batch is logged, stays pending and stops no other."""
        result: dict[str, list[SlackMessage]] = {}
        for batch in batches:
            try:
                message = self._flush(batch, reason, returned=returned)
            except Exception as exc:  # whatever a formatter or store raised: keep the batch
                logger.error("could not flush batch %s (%s): %s", batch.id, reason, exc)
                continue
            result.setdefault(batch.channel_id, []).append(message)
        return result

    def flush_all_batches(self) -> dict[str, list[SlackMessage]]:
        """Flush every pending batch; return the messages by channel."""
        with self._lock:
            result = self._flush_many(list(self._batches.values()), "manual", returned=_RETURNED)
            return self._hand_over_outbox(result)

    def flush_channel_batches(self, channel_id: str) -> list[SlackMessage]:
        """Flush every pending batch of *channel_id*; return its messages in opening order."""
        with self._lock:
            queue = self._channels.get(channel_id)
            batches = list(queue.batches.values()) if queue else []
            result = self._flush_many(batches, "manual", returned=_RETURNED)
            return self._hand_over_outbox(result, channel_id).get(channel_id, [])

    def flush_expired_batches(self) -> dict[str, list[SlackMessage]]:
        """Flush the batches whose window has closed; return the messages by channel.

        Cost grows with the number of due batches (a deadline heap), not with all pending.
        A batch that fails to flush stays pending and is retried on the next call.
        """
        with self._lock:
            now = self.clock.now()
            heap = self._deadlines
            due: list[BatchGroup] = []
            while heap and heap[0][0] <= now:
                _, _, batch_id = heapq.heappop(heap)
                batch = self._batches.get(batch_id)
                if batch is not None:
                    due.append(batch)
            try:
                result = self._flush_many(due, "window", returned=_RETURNED)
            finally:
                for batch in due:
                    if batch.id in self._batches:  # not flushed: keep its deadline
                        self._sequence += 1
                        heapq.heappush(heap, (batch.expires_at, self._sequence, batch.id))
            return self._hand_over_outbox(result)

    def force_flush_batch(self, batch_id: str) -> SlackMessage | None:
        """Flush one batch now, whatever its size or age; None if no batch has that id."""
        with self._lock:
            batch = self._batches.get(batch_id)
            if batch is None:
                return None
            return self._flush(batch, "manual", returned=_RETURNED)

    def shutdown(self) -> dict[str, list[SlackMessage]]:
        """Flush everything pending (reason ``shutdown``) and return it by channel."""
        with self._lock:
            batches = list(self._batches.values())
            result = self._flush_many(batches, "shutdown", returned=_RETURNED)
            return self._hand_over_outbox(result)

    def close(self) -> None:
        """Release the store. Pending state stays in a durable store for the next start."""
        with self._lock:
            self.store.close()

    def __enter__(self) -> MessageBatcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Nobody receives a return value here: flushed messages wait in the outbox
        # (pending_outbox() / drain_outbox()), and in a durable store across restarts.
        with self._lock:
            self._flush_many(list(self._batches.values()), "shutdown", returned=_SIDE_PATH)

    @property
    def durable(self) -> bool:
        """True when pending batches, the outbox and dead letters survive a restart."""
        return bool(getattr(self.store, "durable", False))

    def next_due_at(self) -> datetime | None:
        """Return when the next pending batch falls due, or None when nothing is pending."""
        with self._lock:
            heap = self._deadlines
            while heap and heap[0][2] not in self._batches:
                heapq.heappop(heap)
            return heap[0][0] if heap else None

    # -------------------------------------------------------- resource control

    def _flush_side_path(self, batches: list[BatchGroup], reason: str) -> int:
        return sum(len(v) for v in self._flush_many(batches, reason, returned=_SIDE_PATH).values())

    def _least_active_channel(self) -> str | None:
        return next(iter(self._channels), None)

    def _oldest_batch(self) -> BatchGroup | None:
        return next(iter(self._batches.values()), None)

    def _memory_estimate(self) -> int:
        stats = self._stats
        return stats.pending_bytes + MESSAGE_OVERHEAD_BYTES * stats.pending_messages

    def cleanup_stale_batches(self, max_age_hours: float = 24) -> int:
        """Dead-letter batches pending longer than *max_age_hours*; return how many.

        A batch only gets this old when it cannot be flushed (its formatting keeps failing)
        or nobody calls the flush methods. Its messages stay listed in :meth:`dead_letters`
        with the reason, and :meth:`replay_dead_letter` re-queues them.
        """
        with self._lock:
            now = self.clock.now()
            cutoff = now - timedelta(hours=max_age_hours)
            stale = [b for b in self._batches.values() if b.created_at <= cutoff]
            for batch in stale:
                hours = (now - batch.created_at).total_seconds() / 3600
                letter = DeadLetter(
                    id=self._new_letter_id(),
                    channel_id=batch.channel_id,
                    reason=f"stale: pending {hours:.1f} h (limit {max_age_hours:g} h)",
                    created_at=now,
                    messages=list(batch.messages),
                    batch_id=batch.id,
                )
                self._store_call(self.store.record_dead_batch, batch, letter)
                self._forget(batch)
                self._count_dead_letter(letter)
            if stale:
                logger.warning("dead-lettered %d stale batches", len(stale))
            return len(stale)

    # ------------------------------------------------------- outbox and letters

    def pending_outbox(self, limit: int | None = None) -> list[OutboxEntry]:
        """Return flushed messages not yet acknowledged, oldest first."""
        with self._lock:
            return self.store.outbox_entries(limit)

    def outbox_size(self) -> int:
        """Return how many flushed messages wait in the outbox."""
        with self._lock:
            return self._outbox_count

    def ack(self, outbox_id: str) -> bool:
        """Mark an outbox entry delivered; False if it was not in the outbox."""
        with self._lock:
            removed = self._store_call(self.store.ack, outbox_id)
            if removed:
                self._outbox_count -= 1
            return bool(removed)

    def update_outbox(self, entry: OutboxEntry) -> None:
        """Save a delivery attempt's progress (attempts, next attempt, error, sender state)."""
        with self._lock:
            self._store_call(self.store.update_outbox, entry)

    def drain_outbox(self) -> list[OutboxEntry]:
        """Return every outbox entry and acknowledge it: the caller now owns delivery."""
        with self._lock:
            entries = self.store.outbox_entries(None)
            for entry in entries:
                self.ack(entry.id)
            return entries

    def dead_letter_outbox(
        self, outbox_id: str, reason: str, error_code: str | None = None
    ) -> DeadLetter | None:
        """Move an undeliverable outbox entry to the dead letters; None if not in the outbox."""
        with self._lock:
            entry = self.store.get_outbox(outbox_id)
            if entry is None:
                return None
            letter = DeadLetter(
                id=self._new_letter_id(),
                channel_id=entry.channel_id,
                reason=reason,
                created_at=self.clock.now(),
                messages=list(entry.messages),
                batch_id=entry.batch_id,
                error_code=error_code,
                message=entry.message,
            )
            if not self._store_call(self.store.dead_letter_outbox, outbox_id, letter):
                return None
            self._outbox_count -= 1
            self._count_dead_letter(letter)
            return letter

    def dead_letters(self, channel_id: str | None = None) -> list[DeadLetter]:
        """Return the dead letters, oldest first, optionally of one channel."""
        with self._lock:
            return self.store.dead_letters(channel_id)

    def replay_dead_letter(self, letter_id: str) -> int:
        """Re-queue a dead letter's messages for batching; return how many were re-queued.

        Messages already pending again in the channel are not added twice. Raises
        :class:`~slack_batcher.errors.BatchNotFoundError` for an unknown id.
        """
        from .errors import BatchNotFoundError

        with self._lock:
            letter = self.store.get_dead_letter(letter_id)
            if letter is None:
                raise BatchNotFoundError(f"no dead letter with id {letter_id!r}")
            requeued = 0
            for message in letter.messages:
                duplicate = self._add(message, letter.channel_id, _SIDE_PATH)[3]
                requeued += not duplicate
            # Removed after re-queueing: a crash in between duplicates rather than loses.
            self._store_call(self.store.remove_dead_letter, letter_id)
            self._stats.replayed += requeued
            return requeued

    def _hand_over_outbox(
        self, result: dict[str, list[SlackMessage]], channel_id: str | None = None
    ) -> dict[str, list[SlackMessage]]:
        """In auto-ack mode, add side-path flushes waiting in the outbox to *result*."""
        if not self.auto_ack or not self._outbox_count:
            return result
        for entry in self.store.outbox_entries(None):
            if channel_id is not None and entry.channel_id != channel_id:
                continue
            if self._store_call(self.store.ack, entry.id):
                self._outbox_count -= 1
                result.setdefault(entry.channel_id, []).append(entry.message)
        return result

    def _new_letter_id(self) -> str:
        self._sequence += 1
        return f"dl_{self._id_prefix}_{self._sequence}"

    def _count_dead_letter(self, letter: DeadLetter) -> None:
        self._stats.dead_letters_created += 1
        self._stats.messages_dead_lettered += len(letter.messages)
        self._channel_stats_for(letter.channel_id).dead_lettered += len(letter.messages)

    # ---------------------------------------------------------- observability

    def inspect_pending_batches(self, channel_id: str | None = None) -> dict[str, Any]:
        """Describe every pending batch (optionally of one channel) without sending anything."""
        with self._lock:
            now = self.clock.now()
            channels: dict[str, Any] = {}
            total_batches = total_messages = 0
            for cid, queue in self._channels.items():
                if channel_id is not None and cid != channel_id:
                    continue
                batches = [self._describe(b, now) for b in queue.batches.values()]
                count = sum(b["message_count"] for b in batches)
                channels[cid] = {
                    "batch_count": len(batches),
                    "message_count": count,
                    "next_due_at": min(b["due_at"] for b in batches) if batches else None,
                    "batches": batches,
                }
                total_batches += len(batches)
                total_messages += count
            return {
                "inspected_at": now.isoformat(),
                "total_batches": total_batches,
                "total_messages": total_messages,
                "channels": channels,
            }

    def _describe(self, batch: BatchGroup, now: datetime) -> dict[str, Any]:
        from .formatting.fallback import item_title

        ordered = batch.ordered_messages(self.config.priority_ordering)
        return {
            "id": batch.id,
            "channel_id": batch.channel_id,
            "batch_type": batch.batch_type.value,
            "message_count": len(batch.messages),
            "opened_at": batch.created_at.isoformat(),
            "due_at": batch.expires_at.isoformat(),
            "last_activity": (batch.last_activity or batch.created_at).isoformat(),
            "seconds_until_due": round((batch.expires_at - now).total_seconds(), 3),
            "overdue": now >= batch.expires_at,
            "items": [
                {
                    "id": m.id,
                    "content_type": m.content_type.value,
                    "author": m.author,
                    "priority": m.priority,
                    "timestamp": m.timestamp.isoformat(),
                    "summary": item_title(m)[:200],
                }
                for m in ordered
            ],
        }

    def get_channel_stats(self, channel_id: str) -> ChannelStats | None:
        """Return a snapshot of *channel_id*'s statistics, or None for an unknown channel."""
        with self._lock:
            stats = self._channel_stats.get(channel_id)
            if stats is None:
                return None
            queue = self._channels.get(channel_id)
            return replace(
                stats,
                active_batch_count=len(queue.batches) if queue else 0,
                pending_message_count=queue.pending_messages if queue else 0,
            )

    def get_batch_stats(self) -> dict[str, Any]:
        """Return global statistics; pending figures always agree with inspection."""
        with self._lock:
            stats = self._stats
            now = self.clock.now()
            by_channel = {}
            for cid, channel in self._channel_stats.items():
                queue = self._channels.get(cid)
                by_channel[cid] = {
                    "batches_created": channel.batches_created,
                    "batches_sent": channel.batches_sent,
                    "messages_batched": channel.messages_batched,
                    "pending_batches": len(queue.batches) if queue else 0,
                    "pending_messages": queue.pending_messages if queue else 0,
                }
            return {
                "batches_created": stats.batches_created,
                "batches_sent": stats.batches_sent,
                "batches_pending": stats.pending_batches,
                "messages_received": stats.messages_received,
                "messages_batched": stats.messages_batched,
                "messages_sent": stats.messages_sent,
                "messages_pending": stats.pending_messages,
                "duplicates": stats.duplicates,
                "rejected": stats.rejected,
                "dead_letters_created": stats.dead_letters_created,
                "messages_dead_lettered": stats.messages_dead_lettered,
                "replayed": stats.replayed,
                "batches_recovered": stats.batches_recovered,
                "messages_recovered": stats.messages_recovered,
                "outbox_pending": self._outbox_count,
                "active_channels": len(self._channels),
                "average_batch_size": round(stats.average_batch_size, 3),
                "average_time_to_send": round(stats.average_time_to_send, 3),
                "peak_concurrent_batches": stats.peak_concurrent_batches,
                "errors": stats.errors,
                "error_rate": round(stats.error_rate, 4),
                "api_posts_saved": stats.messages_sent - stats.batches_sent,
                "memory_estimate_bytes": self._memory_estimate(),
                "uptime_seconds": round((now - stats.started_at).total_seconds(), 3),
                "flush_reasons": dict(stats.flush_reasons),
                "batches_by_type": dict(stats.batches_by_type),
                "messages_by_type": dict(stats.messages_by_type),
                "formatter": {
                    "formatter_used": stats.formatter_used,
                    "fallback_used": stats.fallback_used,
                    "formatter_errors": stats.formatter_errors,
                },
                "by_channel": by_channel,
                **{c.name: c.stats() for c in self._contributors},
            }

    def get_health_status(self) -> dict[str, Any]:
        """Return the overall status (healthy / degraded / unhealthy), named checks and insights."""
        with self._lock:
            now = self.clock.now()
            extra = [check for c in self._contributors for check in c.health_checks(now)]
            return evaluate_health(
                config=self.config,
                now=now,
                extra_checks=extra,
                stats=self._stats,
                due_times=[b.expires_at for b in self._batches.values()],
                channel_count=len(self._channels),
                recent_errors=sum(self._recent_errors),
                recent_operations=len(self._recent_errors),
                memory_estimate=self._memory_estimate(),
                outbox_size=self._outbox_count,
                channel_stats=list(self._channel_stats.values()),
            )

    def add_stats_contributor(self, contributor: StatsContributor) -> None:
        """Include *contributor*'s figures in the stats and its checks in the health status.

        A contributor with the same ``name`` (say, the delivery figures of an earlier
        service on this batcher) is replaced.
        """
        with self._lock:
            self._contributors = [c for c in self._contributors if c.name != contributor.name]
            self._contributors.append(contributor)

    def remove_stats_contributor(self, contributor: StatsContributor) -> None:
        """Stop including *contributor* (a no-op if it was not attached)."""
        with self._lock:
            if contributor in self._contributors:
                self._contributors.remove(contributor)

    def add_outbox_listener(self, listener: Callable[[OutboxEntry], None]) -> None:
        """Call *listener* with every entry written to the outbox, as it is written.

        It runs under the batcher's lock, in whichever thread flushed: keep it short (hand the
        entry to a queue). Entries already in the outbox are not replayed to it.
        """
        with self._lock:
            self._outbox_listeners.append(listener)

    def remove_outbox_listener(self, listener: Callable[[OutboxEntry], None]) -> None:
        """Stop calling *listener* (a no-op if it was not added)."""
        with self._lock:
            if listener in self._outbox_listeners:
                self._outbox_listeners.remove(listener)

    def get_thread(self, thread_key: str) -> str | None:
        """Return the ``ts`` that posts about *thread_key* reply under, unless expired."""
        with self._lock:
            return self.store.get_thread(thread_key, self.clock.now())

    def set_thread(self, thread_key: str, ts: str, ttl: timedelta) -> None:
        """Make posts about *thread_key* reply under *ts* for *ttl* from now."""
        with self._lock:
            self._store_call(self.store.set_thread, thread_key, ts, self.clock.now() + ttl)

    # ---------------------------------------------------------------- helpers

    def _channel_stats_for(self, channel_id: str) -> ChannelStats:
        stats = self._channel_stats.get(channel_id)
        if stats is None:
            stats = ChannelStats(channel_id=channel_id)
            self._channel_stats[channel_id] = stats
            if len(self._channel_stats) > self._stats_retention:
                self._evict_channel_stats()
        return stats

    def _evict_channel_stats(self) -> None:
        """Drop the stats of the least recently active channels with nothing pending.

        Runs when retention is exceeded: drops a tenth at once, so its scan is amortised.
        """
        idle = [c for c in self._channel_stats.values() if c.channel_id not in self._channels]
        idle.sort(key=lambda c: c.last_activity or self._stats.started_at)
        for channel in idle[: max(1, self._stats_retention // 10)]:
            del self._channel_stats[channel.channel_id]

    def _record_error(self) -> None:
        self._stats.errors += 1
        self._stats.operations += 1
        self._recent_errors.append(True)

    def _store_call(self, method: Any, *args: Any) -> Any:
        try:
            return method(*args)
        except Exception:
            self._record_error()
            raise

    def _recover(self) -> None:
        """Rebuild the in-memory indexes from the store's pending batches and outbox."""
        state = self.store.load()
        for batch in sorted(state.batches, key=lambda b: b.created_at):
            if not batch.messages:
                continue
            first = batch.messages[0]
            batch.partition = self._policy.partition_of(first, profile_of(first))
            queue = self._channels.get(batch.channel_id)
            if queue is None:
                queue = self._channels[batch.channel_id] = ChannelQueue(batch.channel_id)
            messages, batch.messages, batch.size_bytes = batch.messages, [], 0
            self._register_batch(queue, batch, recovered=True)
            for message in messages:
                batch.add_message(message)
                queue.index_message(batch, message, profile_of(message))
                when = batch.last_activity or batch.created_at
                self._count_recovered(batch.channel_id, message, when)
        self._outbox_count = len(state.outbox)
        if state.batches or state.outbox:
            logger.info(
                "recovered %d pending batches (%d messages) and %d undelivered posts",
                self._stats.pending_batches,
                self._stats.pending_messages,
                self._outbox_count,
            )
