"""MessageBatcher: the synchronous, deterministic core, and the seed's facade.

It places each message in a batch of its channel, flushes a batch when it is full, urgent,
due, or asked to, and renders it into a :class:`SlackMessage`. Time comes from the injected
clock; state changes go through the injected store first, so a store failure leaves the
batcher unchanged. The facade owns the parts and hands each call to one of them:

* ``pending`` — where pending batches live (:mod:`.pending`, the seam): the in-process
  index (:class:`~.local.LocalBatches`, grouping and deadlines) by default, or the shared
  Redis one (:class:`~slack_batcher.store.redis.pending.RedisBatches`);
* ``placer`` — adding messages through ``pending`` (:mod:`.placing`);
* ``flusher`` — the flush paths (:mod:`.flushing`); ``outbox`` — flushed posts until
  delivered (:mod:`.outbox`); ``letters`` — dead letters (:mod:`.dead_letters`);
* ``recorder`` — stats and health (:mod:`.recording`); each channel's rules (:mod:`.rules`).

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
from collections.abc import Iterable
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from ..formatting.factory import SlackMessageFormatterFactory
from ..formatting.message import SlackMessage
from ..model.batch import BatchGroup
from ..model.clock import Clock, SystemClock
from ..model.config import BatchConfig
from ..model.message import BatchableMessage
from ..model.stats import ChannelStats, StatsContributor
from ..store.base import BatchStore, DeadLetter, OutboxEntry
from ..store.memory import MemoryStore
from .dead_letters import DeadLetters
from .error_handler import BatchErrorHandler
from .flush import AddResult, FlushReason
from .flushing import RETURNED, SIDE_PATH, Flusher
from .inspection import describe_pending
from .local import LocalBatches
from .outbox import Outbox
from .pending import PendingBatches
from .placing import Placer
from .recording import MESSAGE_OVERHEAD_BYTES, StatsRecorder
from .rendering import batch_of, render_batch
from .rules import ChannelRules

__all__ = ["MESSAGE_OVERHEAD_BYTES", "AddResult", "FlushReason", "MessageBatcher"]

logger = logging.getLogger(__name__)


class MessageBatcher:
    """Channel-aware batching of Slack notifications.

    ``MessageBatcher(config, formatter_factory, clock=, store=, auto_ack=, pending=)``: all
    optional. An invalid *config* raises :class:`~slack_batcher.model.errors.ConfigError`
    listing every problem. With a durable *store*, pending batches, the outbox and dead
    letters are recovered on construction, each batch keeping its original due time.
    *pending*: where pending batches live, by default in this process (``RedisBatches``
    shares them with other instances: give it the same store and clock).
    """

    def __init__(
        self,
        config: BatchConfig | None = None,
        formatter_factory: SlackMessageFormatterFactory | None = None,
        *,
        clock: Clock | None = None,
        store: BatchStore | None = None,
        auto_ack: bool = True,
        pending: PendingBatches | None = None,
    ) -> None:
        self.config = config if config is not None else BatchConfig()
        self.config.ensure_valid()
        self.formatter_factory = formatter_factory
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.store: BatchStore = store if store is not None else MemoryStore()
        self.error_handler = BatchErrorHandler(self)
        self._rules = ChannelRules.of(self.config)
        self._channel_rules: dict[str, ChannelRules] = {}
        #: The re-entrant lock every public method takes (shared with the outbox).
        self.lock = self._lock = threading.RLock()
        self.recorder = StatsRecorder(self.config, self.clock.now())
        #: Where pending batches live (the seam): in this process, or shared.
        self.pending: PendingBatches = (
            pending
            if pending is not None
            else LocalBatches(
                self.store,
                self.recorder,
                rules_for=self._rules_for,
                max_channels=self.config.max_channels,
                on_overflow=self.error_handler.handle_channel_overflow,
            )
        )
        self._shared = not self.pending.local
        self.letters = DeadLetters(
            self.store,
            lock=self._lock,
            recorder=self.recorder,
            clock=self.clock,
            id_prefix=secrets.token_hex(6),
        )
        waiting = self.pending.restore()
        #: The flushed batches waiting for delivery; the runtime delivers from it.
        self.outbox = Outbox(
            self.store,
            lock=self._lock,
            recorder=self.recorder,
            letters=self.letters,
            size=waiting,
            leases=self.pending.leases,
        )
        self.flusher = Flusher(
            self.pending,
            outbox=self.outbox,
            letters=self.letters,
            recorder=self.recorder,
            clock=self.clock,
            render=self._render,
            auto_ack=auto_ack,
        )
        self.outbox.render_deferred = self._render_entry
        #: Adding messages: validate, place through ``pending``, count, flush what filled.
        self.placer = Placer(
            self.pending,
            config=self.config,
            rules=self._rules,
            channel_rules=self._channel_rules,
            lock=self._lock,
            clock=self.clock,
            recorder=self.recorder,
            flusher=self.flusher,
            error_handler=self.error_handler,
        )
        self._place = self.placer.place  # bound once: the hot path calls it directly
        for contributor in self.pending.contributors():
            self.recorder.add_contributor(contributor)

    # --------------------------------------------------------- channel config

    def configure_channel(self, channel_id: str, config: BatchConfig | None) -> None:
        """Batch *channel_id* by *config* from now on (None: back to the batcher's config).

        Honoured per channel: sizes, windows, threshold, strategies, urgent priorities, the
        latency, live-digest (:meth:`config_for`) and rendering options; ``enabled``,
        ``max_channels``, limits and budgets stay the batcher's (docs/grouping.md). Open
        batches keep their due time. An invalid *config* raises ConfigError.
        """
        if config is not None:
            config.ensure_valid()
        with self._lock:
            if config is None:
                self._channel_rules.pop(channel_id, None)
            else:
                self._channel_rules[channel_id] = ChannelRules.of(
                    config, enabled=self.config.enabled
                )
            self.pending.configure(channel_id, self._rules_for(channel_id))

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
        return self._place(message, channel_id, RETURNED)[2]

    def add(self, message: BatchableMessage, channel_id: str = "default") -> AddResult:
        """Like :meth:`add_message`, but say which batch the message joined and why it flushed."""
        return AddResult(*self._place(message, channel_id, RETURNED))

    def add_many(
        self, events: Iterable[tuple[BatchableMessage, str]]
    ) -> tuple[list[AddResult], Exception | None]:
        """Add several events; with shared batches, one store round trip per hundred.

        Returns the results in order and the error that stopped the rest (an invalid event,
        or the store failing; shared, events after the last result may be stored too: a
        resend is answered "duplicate"), or None.
        """
        return self.placer.add_many(events)

    def add_unit(
        self, events: Iterable[tuple[BatchableMessage, str]]
    ) -> tuple[list[AddResult], Exception | None]:
        """Add the (message, channel) pairs of one delivery as a unit (see :mod:`.units`).

        An invalid event stores nothing and is returned as the error, with no results.
        Returns the results in order (a batch that flushed is on the result of its last
        message of the unit) and the store error that stopped the rest, or None. Shared
        batches: the same placement, in one Lua script (one round trip) per unit.
        """
        return self.placer.add_unit(events)

    def check_message(self, message: object, channel_id: object) -> None:
        """Raise :class:`~slack_batcher.model.errors.InvalidMessageError` if *add* would refuse it.

        Checks the message type, the channel id and the configured size limit (a refusal
        for size is counted in ``rejected``); stores nothing. Lets a caller check a whole
        request before adding any of it.
        """
        self.placer.check(message, channel_id)

    def _requeue(self, message: BatchableMessage, channel_id: str) -> bool:
        """Add *message* on a side path; return True when it was a duplicate."""
        return self._place(message, channel_id, SIDE_PATH)[1]

    # ---------------------------------------------------------------- flushing

    def _render(self, batch: BatchGroup, *, preview: bool = False) -> SlackMessage:
        rules = self._rules
        if self._channel_rules:  # _rules_for, inlined: once per flush
            rules = self._channel_rules.get(batch.channel_id, rules)
        return render_batch(
            batch,
            config=rules.config,
            factory=self.formatter_factory,
            recorder=self.recorder,
            on_error=self.error_handler.handle_formatter_error,
            preview=preview,
        )

    def _render_entry(self, entry: OutboxEntry) -> SlackMessage:
        """Render the post of an outbox entry whose flush deferred it (see ``Flusher``)."""
        return self._render(batch_of(entry))

    def flush_all_batches(self) -> dict[str, list[SlackMessage]]:
        """Flush every pending batch; return the messages by channel."""
        with self._lock:
            return self.flusher.flush_all(FlushReason.MANUAL, returned=RETURNED)

    def flush_channel_batches(self, channel_id: str) -> list[SlackMessage]:
        """Flush every pending batch of *channel_id*; return its messages in opening order."""
        with self._lock:
            flushed = self.flusher.flush_all(
                FlushReason.MANUAL, returned=True, channel_id=channel_id
            )
            return flushed.get(channel_id, [])

    def flush_expired_batches(self) -> dict[str, list[SlackMessage]]:
        """Flush the batches whose window has closed; return the messages by channel.

        Cost grows with the number of due batches (a deadline index), not with all pending.
        A batch that fails to flush stays pending and is retried on the next call. With
        shared batches this also extends this instance's delivery leases and takes over
        outbox entries whose owner stopped extending them.
        """
        with self._lock:
            return self.flusher.flush_expired()

    def force_flush_batch(self, batch_id: str) -> SlackMessage | None:
        """Flush one batch now, whatever its size or age; None if no batch has that id."""
        with self._lock:
            return self.flusher.flush_one(batch_id)

    def flush_early(self, batch_ids: list[str], reason: FlushReason) -> int:
        """Flush the pending batches *batch_ids* on a side path (into the outbox).

        For resource control (overflow, memory pressure): delivered from the outbox.
        """
        with self._lock:
            flushed = self.flusher.flush_ids(batch_ids, reason, returned=SIDE_PATH)
            return sum(len(v) for v in flushed.values())

    def preview_batch(self, batch_id: str) -> SlackMessage | None:
        """Render a pending batch as it would be posted now, without flushing or counting it.

        Returns None when no pending batch has that id. A failing formatter shows the
        fallback rendering, whatever ``fallback_formatting`` says.
        """
        with self._lock:
            batch = self.pending.get(batch_id)
            return None if batch is None else self._render(batch, preview=True)

    def shutdown(self) -> dict[str, list[SlackMessage]]:
        """Flush everything pending (reason ``shutdown``) and return it by channel.

        Shared batches are not flushed: they stay for the other instances (or the next
        start), which flush them when they are due.
        """
        if self._shared:
            return {}
        with self._lock:
            return self.flusher.flush_all(FlushReason.SHUTDOWN, returned=RETURNED)

    def cleanup_stale_batches(self, max_age_hours: float = 24) -> int:
        """Dead-letter batches pending longer than *max_age_hours*; return how many.

        A batch only gets this old when it cannot be flushed or nobody calls the flush
        methods. Its messages stay listed in :meth:`dead_letters` with the reason, and
        :meth:`replay_dead_letter` re-queues them (shared: the 200 oldest looked at per call).
        """
        with self._lock:
            return self.flusher.dead_letter_stale(max_age_hours)

    # ---------------------------------------------------------- lifecycle

    def close(self) -> None:
        """Release the store (shared: give held posts back first); durable state stays."""
        with self._lock:
            self.pending.close()
            self.store.close()

    def __enter__(self) -> MessageBatcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._shared:  # the shared batches stay; only this instance's hold goes
            self.close()
            return
        # Nobody receives a return value here: flushed messages wait in the outbox
        # (pending_outbox()), and in a durable store across restarts.
        with self._lock:
            self.flusher.flush_all(FlushReason.SHUTDOWN, returned=SIDE_PATH)

    @property
    def auto_ack(self) -> bool:
        """True while returned flushes count as delivered (the runtime turns it off)."""
        return self.flusher.auto_ack

    @auto_ack.setter
    def auto_ack(self, value: bool) -> None:
        self.flusher.auto_ack = value

    @property
    def durable(self) -> bool:
        """True when pending batches, the outbox and dead letters survive a restart."""
        return self.store.durable

    def next_due_at(self) -> datetime | None:
        """Return when the deadline timer should look again (None: nothing pending).

        In this process: when the next pending batch falls due. Shared: the next shared due
        time, but at most ``poll_seconds`` away (backing off while Redis is down).
        """
        with self._lock:
            return self.pending.next_due(self.clock.now())

    def placed_due_at(self) -> datetime | None:
        """Return the earliest due time known without a store round trip (for a submit)."""
        with self._lock:
            return self.pending.placed_due()

    # ---------------------------------------------------------- observability

    def inspect_pending_batches(self, channel_id: str | None = None) -> dict[str, Any]:
        """Describe every pending batch (optionally of one channel), sending nothing."""
        with self._lock:
            return describe_pending(
                self.pending.view(channel_id),
                self.clock.now(),
                priority_ordering={
                    cid: rules.config.priority_ordering
                    for cid, rules in self._channel_rules.items()
                },
                default_ordering=self.config.priority_ordering,
            )

    def get_channel_stats(self, channel_id: str) -> ChannelStats | None:
        """Return a snapshot of *channel_id*'s statistics, or None for an unknown channel."""
        with self._lock:
            queue = self.pending.channels().get(channel_id)
            return self.recorder.channel_snapshot(channel_id, queue)

    def get_batch_stats(self) -> dict[str, Any]:
        """Return global statistics; pending figures always agree with inspection.

        With shared batches the pending figures are read from the shared store, ``store``
        names it and this instance, and ``shared`` says what this instance holds.
        """
        with self._lock:
            stats = self.recorder.batch_stats(
                now=self.clock.now(),
                queues=self.pending.channels(),
                outbox_size=self.outbox.size(),
            )
            stats.update(self.pending.figures())
            return stats

    def get_health_status(self) -> dict[str, Any]:
        """Return the overall status (healthy / degraded / unhealthy), named checks and insights."""
        with self._lock:
            return self.recorder.health(
                now=self.clock.now(),
                due_times=self.pending.due_times(),
                channel_count=self.pending.channel_count(),
                outbox_size=self.outbox.size(),
            )

    def add_stats_contributor(self, contributor: StatsContributor) -> None:
        """Include *contributor*'s figures in the stats and its checks in the health status.

        A contributor with the same ``name`` (say, the delivery figures of an earlier
        service on this batcher) is replaced.
        """
        with self._lock:
            self.recorder.add_contributor(contributor)

    def pending_outbox(self, limit: int | None = None) -> list[OutboxEntry]:
        """Return flushed messages not yet acknowledged, oldest first (``outbox.entries``)."""
        return self.outbox.entries(limit)

    def ack(self, outbox_id: str) -> bool:
        """Mark an outbox entry delivered; False if it was not in the outbox (``outbox.ack``)."""
        return self.outbox.ack(outbox_id)

    def dead_letters(self, channel_id: str | None = None) -> list[DeadLetter]:
        """Return the dead letters, oldest first, optionally of one channel."""
        return self.letters.list(channel_id)

    def replay_dead_letter(self, letter_id: str) -> int:
        """Re-queue a dead letter's messages for batching; return how many were re-queued.

        Messages already pending again in the channel are not added twice. Raises
        :class:`~slack_batcher.model.errors.BatchNotFoundError` for an unknown id.
        """
        return self.letters.replay(letter_id, self._requeue)

    def get_thread(self, thread_key: str) -> str | None:
        """Return the ``ts`` that posts about *thread_key* reply under, unless expired."""
        with self._lock:
            return self.store.get_thread(thread_key, self.clock.now())

    def set_thread(self, thread_key: str, ts: str, ttl: timedelta) -> None:
        """Make posts about *thread_key* reply under *ts* for *ttl* from now."""
        with self._lock:
            self.flusher.store_call(self.store.set_thread, thread_key, ts, self.clock.now() + ttl)
