"""MessageBatcher: the synchronous, deterministic core, and the seed's facade.

It places each message in a batch of its channel (see ``grouping.py``), flushes a batch when
it is full, urgent, due, or asked to, and renders it into a :class:`SlackMessage`. Time comes
from the injected clock; state changes go through the injected store first, so a store
failure leaves the batcher unchanged. This module places messages; the other concerns live
beside it: the flush paths (``flushing.py``), each channel's rules (``rules.py``), the outbox
(``outbox.py``, held by the runtime as ``batcher.outbox``), dead letters (``dead_letters.py``),
stats and health (``recording.py``), recovery (``recovery.py``), rendering (``rendering.py``),
and the one-line delegates and pending-set queries (``delegates.py``).

Thread safety: every public method takes one re-entrant lock (shared with the outbox and
the dead letters), so a batcher may be shared by threads; calls are serialised.

Delivery tracking (``auto_ack``): a library user who posts what ``add_message`` and the
``flush_*`` methods return needs no bookkeeping, so by default those messages count as
delivered when returned. Messages flushed on a side path (channel overflow, memory pressure,
replay, leaving a ``with`` block) go to the outbox instead and are handed over by the next
``flush_*`` call. With ``auto_ack=False`` (the runtime) every flush goes to the outbox and
stays there until :meth:`Outbox.ack` or :meth:`Outbox.dead_letter`.
"""

from __future__ import annotations

import logging
import secrets
import threading
from datetime import datetime
from types import TracebackType
from typing import Any

from ..formatting.factory import SlackMessageFormatterFactory
from ..formatting.message import SlackMessage
from ..model.batch import BatchGroup
from ..model.clock import Clock, SystemClock
from ..model.config import BatchConfig
from ..model.errors import InvalidMessageError, MessageTooLargeError
from ..model.message import BatchableMessage, BatchType, ContentType
from ..store.base import BatchStore
from ..store.memory import MemoryStore
from .activity import LeastActive
from .dead_letters import DeadLetters
from .deadlines import Deadlines
from .delegates import BatcherDelegates
from .error_handler import BatchErrorHandler
from .flush import AddResult, FlushReason
from .flushing import _RETURNED, _SIDE_PATH, BatchFlushing
from .grouping import ChannelQueue, folded
from .inspection import describe_pending
from .latency import LeadingEdges
from .outbox import Outbox
from .recording import MESSAGE_OVERHEAD_BYTES, StatsRecorder
from .recovery import recover
from .rules import ChannelRules
from .units import DeliveryUnit, UnitAdding

__all__ = ["MESSAGE_OVERHEAD_BYTES", "AddResult", "FlushReason", "MessageBatcher"]

logger = logging.getLogger(__name__)

MAX_CHANNEL_ID_LENGTH = 255
_TEAM = BatchType.TEAM_ACTIVITY
_TYPE_OF = {kind: BatchType.for_content_type(kind) for kind in ContentType}
#: What :meth:`MessageBatcher._place` returns: the fields of an AddResult.
_Placed = tuple[str, bool, SlackMessage | None, FlushReason | None]


class MessageBatcher(BatchFlushing, BatcherDelegates, UnitAdding):
    """Channel-aware batching of Slack notifications.

    ``MessageBatcher(config, formatter_factory, clock=, store=, auto_ack=)``: all optional.
    An invalid *config* raises :class:`~slack_batcher.model.errors.ConfigError` listing every
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
        self._rules = ChannelRules.of(self.config)
        self._channel_rules: dict[str, ChannelRules] = {}
        self._enabled = self.config.enabled
        self._max_message_bytes = self.config.max_message_bytes
        self._memory_budget = self.config.memory_budget_bytes
        # A store that keeps no batch records (memory) is not called on the hot path.
        self._store_keeps_batches = bool(getattr(self.store, "keeps_batches", True))
        self._lock = threading.RLock()
        #: Channels with pending batches, each with its placement indexes and activity.
        self._channels: dict[str, ChannelQueue] = {}
        self._batches: dict[str, BatchGroup] = {}
        self._least_active = LeastActive()
        self._deadlines = Deadlines(lambda batch: self._batches.get(batch.id) is batch)
        self._sequence = 0
        self._id_prefix = secrets.token_hex(6)
        self._id_head = f"b_{self._id_prefix}_"  # a batch id: this and the sequence number
        self._latency = LeadingEdges()
        #: The delivery unit being added (``add_unit``), else None.
        self._unit: DeliveryUnit | None = None
        self.recorder = StatsRecorder(self.config, self.clock.now())
        self.recorder.watch_pending(self._channels)
        self._stats = self.recorder.stats
        self.letters = DeadLetters(
            self.store,
            lock=self._lock,
            recorder=self.recorder,
            clock=self.clock,
            id_prefix=self._id_prefix,
        )
        state = self.store.load()
        #: The flushed batches waiting for delivery; the runtime delivers from it.
        self.outbox = Outbox(
            self.store,
            lock=self._lock,
            recorder=self.recorder,
            letters=self.letters,
            size=len(state.outbox),
        )
        recover(
            state,
            channels=self._channels,
            policy_for=lambda channel_id: self._rules_for(channel_id).policy,
            register=self._register_batch,
            recorder=self.recorder,
        )
        if state.batches or state.outbox:
            logger.info(
                "recovered %d pending batches (%d messages) and %d undelivered posts",
                self._stats.pending_batches,
                self._stats.pending_messages,
                len(state.outbox),
            )

    # --------------------------------------------------------- channel config

    def configure_channel(self, channel_id: str, config: BatchConfig | None) -> None:
        """Batch *channel_id* by *config* from now on (None: back to the batcher's config).

        Honoured per channel: ``max_batch_size``, ``max_batch_age_minutes``,
        ``similarity_threshold``, ``strategies``, ``urgent_priorities``, the latency options
        (``flush_leading``, ``window``, ``max_wait_minutes``), the live-digest settings
        (read by the runtime through :meth:`config_for`) and the rendering
        options (``items_per_page``, ``enable_pagination``, ``priority_ordering``,
        ``enable_formatter_integration``, ``fallback_formatting``). The rest (``enabled``,
        ``max_channels``, limits and budgets) stays the batcher's. Batches already open keep
        their due time. An invalid *config* raises :class:`~slack_batcher.model.errors.ConfigError`.
        """
        if config is not None:
            config.ensure_valid()
        with self._lock:
            if config is None:
                self._channel_rules.pop(channel_id, None)
            else:
                self._channel_rules[channel_id] = ChannelRules.of(config)
            queue = self._channels.get(channel_id)
            if queue is not None:  # open batches are placed by the new rules from now on
                self._channels[channel_id] = self._rules_for(channel_id).policy.reindex(queue)

    def config_for(self, channel_id: str) -> BatchConfig:
        """Return the BatchConfig that *channel_id* is batched by."""
        return self._rules_for(channel_id).config

    def _rules_for(self, channel_id: str) -> ChannelRules:
        return self._channel_rules.get(channel_id, self._rules)

    # ------------------------------------------------------------------ adding

    def add_message(
        self, message: BatchableMessage, channel_id: str = "default"
    ) -> SlackMessage | None:
        """Add *message* to *channel_id*'s batches; return a SlackMessage if a batch flushed.

        A batch flushes when it reaches ``max_batch_size`` or when an urgent-priority message
        joins it. A message id already pending in the channel is ignored (and counted).
        Invalid input raises :class:`~slack_batcher.model.errors.InvalidMessageError` naming the
        field; nothing is stored then.
        """
        return self._place(message, channel_id, _RETURNED)[2]

    def add(self, message: BatchableMessage, channel_id: str = "default") -> AddResult:
        """Like :meth:`add_message`, but say which batch the message joined and why it flushed."""
        return self._add(message, channel_id, _RETURNED)

    def _add(self, message: BatchableMessage, channel_id: str, returned: bool) -> AddResult:
        """Place *message*; what happened, as an AddResult (a subclass may override this)."""
        return AddResult(*self._place(message, channel_id, returned))

    def _place(  # noqa: C901 - the hot path, flat on purpose
        self, message: BatchableMessage, channel_id: str, returned: bool
    ) -> _Placed:
        """Place *message*; the hot path of the library, kept flat (each call here costs).

        Returns the fields of an :class:`AddResult` as a tuple (no object built per message).
        """
        if type(message) is not BatchableMessage or message.size_bytes > self._max_message_bytes:
            self.check_message(message, channel_id)  # raises, naming the field
        lock = self._lock  # acquire/release: cheaper than a with block, same semantics
        lock.acquire()
        try:
            queue = self._channels.get(channel_id) if isinstance(channel_id, str) else None
            if queue is None:
                # A channel with pending batches was checked when it opened.
                self._check_channel(channel_id)
            else:
                holder = queue.message_ids.get(message.id)
                if holder is not None:
                    self.recorder.duplicate(channel_id)
                    return holder.id, True, None, None
            stats = self._stats
            try:
                rules = (
                    self._channel_rules.get(channel_id, self._rules)
                    if self._channel_rules
                    else self._rules
                )
                now = self.clock.now()
                # profile_of(message), inlined
                data = message.data
                scope = (
                    data.get("repository") or data.get("project") or data.get("service")
                ) or data.get("team")
                if type(scope) is not str or not scope.islower():  # else already folded
                    scope = folded(scope)
                author = message.author
                if author and not author.islower():
                    author = author.lower()
                profile = (scope, author or "", message.content_type)
                policy = rules.policy
                partition = policy.partition_of(message, profile) if policy.partitioned else ()
                batch = None
                unit = self._unit
                if queue is not None and self._enabled:
                    if unit is not None:  # a delivery's messages share one batch
                        batch = unit.batch_for(channel_id, partition, self._batches)
                    if batch is None:
                        batch = policy.choose(queue, partition, profile)
                leading = rules.leading and self._latency.quiet(
                    channel_id, message, rules.config.digest_by, rules.window, now
                )
                if batch is None:
                    if queue is None and len(self._channels) >= self.config.max_channels:
                        self.error_handler.handle_channel_overflow(self.config.max_channels)
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
                    if self._store_keeps_batches:
                        self._store_call(self.store.record_open, batch, message)
                    if queue is None:
                        queue = policy.new_queue(channel_id)
                        queue.stats = self.recorder.channel(channel_id)
                        self._channels[channel_id] = queue
                    # Pending from now on (a recovered batch: _register_batch).
                    queue.open_batch(batch, message, profile)
                    self._batches[batch.id] = batch
                    # A sliding window's due time moves: it is kept in the heap, not a lane.
                    self._deadlines.push(batch, rules.window if rules.sliding_cap is None else None)
                    stats.batches_created += 1
                    stats.pending_batches += 1
                    if stats.pending_batches > stats.peak_concurrent_batches:
                        stats.peak_concurrent_batches = stats.pending_batches
                else:
                    if self._store_keeps_batches:
                        batch.last_activity = now  # what the store records; harmless if it fails
                        self._store_call(self.store.record_add, batch, message)
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
                    queue.index_message(batch, message, profile)  # type: ignore[union-attr]
            except BaseException:
                stats.messages_unplaced += 1
                raise

            # Counted once each: the rest (received, operations, per channel) is derived.
            stats.messages_batched += 1
            stats.pending_messages += 1
            stats.pending_bytes += message.size_bytes
            stats.messages_by_type[message.content_type] += 1
            queue.batched += 1  # type: ignore[union-attr]
            queue.touched = stats.messages_batched  # type: ignore[union-attr]

            reason = None
            if not self._enabled:
                reason = FlushReason.DISABLED
            elif len(members) >= rules.max_batch_size:
                reason = FlushReason.SIZE
            elif message.priority in rules.urgent:
                reason = FlushReason.URGENT
            elif leading and len(members) == 1:
                reason = FlushReason.LEADING
            if unit is not None:  # add_unit flushes once the whole delivery is placed
                unit.hold(channel_id, batch, reason)
                reason = None
            flushed = self._flush(batch, reason, returned=returned) if reason else None
            budget = self._memory_budget
            if budget is not None and self.recorder.memory_estimate() > budget:
                self.error_handler.relieve_memory(budget)
            return batch.id, False, flushed, reason
        finally:
            lock.release()

    def _slide(self, batch: BatchGroup, now: datetime, rules: ChannelRules) -> None:
        """Move a sliding window's due time to now + window, capped after its opening."""
        assert rules.sliding_cap is not None
        due = min(now + rules.window, batch.created_at + rules.sliding_cap)
        if due > batch.due_at:
            # The earlier entry stays; Deadlines skips it once the batch is due later.
            batch.expires_at = due
            self._deadlines.push(batch)

    def check_message(self, message: object, channel_id: object) -> None:
        """Raise :class:`~slack_batcher.model.errors.InvalidMessageError` if *add* would refuse it.

        Checks the message type, the channel id and the configured size limit (a refusal
        for size is counted in ``rejected``); stores nothing. Lets a caller check a whole
        request before adding any of it.
        """
        if not isinstance(message, BatchableMessage):
            raise InvalidMessageError(
                "message", f"expected a BatchableMessage, got {type(message).__name__}"
            )
        self._check_channel(channel_id)
        limit = self.config.max_message_bytes
        if message.size_bytes > limit:
            with self._lock:
                self._stats.rejected += 1
            raise MessageTooLargeError(
                "data",
                f"message {message.id!r} is {message.size_bytes} bytes; the limit is {limit}",
            )

    @staticmethod
    def _check_channel(channel_id: object) -> None:
        """Raise :class:`~slack_batcher.model.errors.InvalidMessageError` for a bad channel id."""
        if not isinstance(channel_id, str) or not channel_id.strip():
            raise InvalidMessageError("channel_id", "must be a non-empty string")
        if len(channel_id) > MAX_CHANNEL_ID_LENGTH:
            raise InvalidMessageError(
                "channel_id", f"is {len(channel_id)} characters; at most {MAX_CHANNEL_ID_LENGTH}"
            )

    def _register_batch(self, queue: ChannelQueue, batch: BatchGroup) -> None:
        """Make a recovered *batch* pending again (``_place`` does this inline for new ones)."""
        queue.add_batch(batch)
        self._batches[batch.id] = batch
        self._deadlines.push(batch)
        self.recorder.recovered_batch()

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
            batches = list(self._batches.values())
            self._flush_many(batches, FlushReason.SHUTDOWN, returned=_SIDE_PATH)

    @property
    def durable(self) -> bool:
        """True when pending batches, the outbox and dead letters survive a restart."""
        return bool(getattr(self.store, "durable", False))

    # ---------------------------------------------------------- observability

    def inspect_pending_batches(self, channel_id: str | None = None) -> dict[str, Any]:
        """Describe every pending batch (optionally of one channel) without sending anything."""
        with self._lock:
            return describe_pending(
                self._channels,
                self.clock.now(),
                channel_id=channel_id,
                priority_ordering={
                    cid: rules.config.priority_ordering
                    for cid, rules in self._channel_rules.items()
                },
                default_ordering=self.config.priority_ordering,
            )

    def _requeue(self, message: BatchableMessage, channel_id: str) -> bool:
        return self._place(message, channel_id, _SIDE_PATH)[1]

    # ---------------------------------------------------------------- helpers

    def _store_call(self, method: Any, *args: Any) -> Any:
        try:
            return method(*args)
        except Exception:
            self.recorder.error()
            raise
