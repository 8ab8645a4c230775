"""Flushing: turning pending batches into posts, on every path, and dropping stale ones.

Mixed into :class:`~slack_batcher.core.batcher.MessageBatcher` (placement stays there). A flush
renders the batch, records it in the store (into the outbox when it is tracked) and forgets
it; a batch that fails to flush stays pending and stops no other. Side-path flushes
(overflow, memory pressure, leaving a ``with`` block) go to the outbox; in auto-ack mode the
next ``flush_*`` call hands them over.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, MutableMapping
from datetime import datetime, timedelta
from typing import Any

from ..formatting.factory import SlackMessageFormatterFactory
from ..formatting.message import SlackMessage
from ..model.batch import BatchGroup
from ..model.clock import Clock
from ..model.config import BatchConfig
from ..store.base import BatchStore, DeadLetter, OutboxEntry
from .dead_letters import DeadLetters
from .deadlines import Deadlines
from .error_handler import BatchErrorHandler
from .flush import FlushReason
from .grouping import ChannelQueue
from .log_fields import log_fields
from .outbox import Outbox
from .recording import StatsRecorder
from .rendering import render_batch

__all__ = ["BatchFlushing"]

# The facade's logger: one name for users to tune, whichever module logs.
logger = logging.getLogger("slack_batcher.core.batcher")

#: Whether a flush's messages are returned to the caller (auto-ack applies to them).
_RETURNED = True
_SIDE_PATH = False


class BatchFlushing:
    """The flush paths of :class:`~slack_batcher.core.batcher.MessageBatcher`; see its docstring."""

    config: BatchConfig
    formatter_factory: SlackMessageFormatterFactory | None
    clock: Clock
    store: BatchStore
    auto_ack: bool
    outbox: Outbox
    letters: DeadLetters
    recorder: StatsRecorder
    error_handler: BatchErrorHandler
    _lock: threading.RLock
    _channels: MutableMapping[str, ChannelQueue]
    _batches: dict[str, BatchGroup]
    _deadlines: Deadlines
    _store_keeps_batches: bool
    config_for: Callable[[str], BatchConfig]

    def _store_call(self, method: Any, *args: Any) -> Any:
        raise NotImplementedError

    # ---------------------------------------------------------------- flushing

    def _flush(self, batch: BatchGroup, reason: FlushReason, *, returned: bool) -> SlackMessage:
        """Render *batch*, record it as flushed (into the outbox when tracked) and forget it."""
        message = self._render(batch)
        now = self.clock.now()
        entry = self._outbox_entry(batch, message, reason, now, returned=returned)
        if entry is not None or self._store_keeps_batches:  # else the store has nothing to do
            self._store_call(self.store.record_flush, batch, entry)
        self._forget(batch)
        if entry is not None:
            self.outbox.written(entry)
        self.recorder.flushed(batch, reason, max((now - batch.created_at).total_seconds(), 0.0))
        if logger.isEnabledFor(logging.DEBUG):  # no log fields built per flush otherwise
            logger.debug(
                "flushed batch %s (%s, %d messages)",
                batch.id,
                reason,
                len(batch.messages),
                extra=log_fields(channel=batch.channel_id, batch_id=batch.id),
            )
        return message

    def _outbox_entry(
        self,
        batch: BatchGroup,
        message: SlackMessage,
        reason: FlushReason,
        now: datetime,
        *,
        returned: bool,
    ) -> OutboxEntry | None:
        """Return the outbox entry of a flushed *batch*; None when the caller takes it."""
        if returned and self.auto_ack:
            return None
        return OutboxEntry(
            id=batch.id,
            channel_id=batch.channel_id,
            batch_id=batch.id,
            message=message,
            messages=list(batch.messages),
            flushed_at=now,
            due_at=min(batch.due_at, now),
            reason=reason.value,
        )

    def _render(self, batch: BatchGroup, *, preview: bool = False) -> SlackMessage:
        return render_batch(
            batch,
            config=self.config_for(batch.channel_id),
            factory=self.formatter_factory,
            recorder=self.recorder,
            on_error=self.error_handler.handle_formatter_error,
            preview=preview,
        )

    def preview_batch(self, batch_id: str) -> SlackMessage | None:
        """Render a pending batch as it would be posted now, without flushing or counting it.

        Returns None when no pending batch has that id. A failing formatter shows the
        fallback rendering, whatever ``fallback_formatting`` says.
        """
        with self._lock:
            batch = self._batches.get(batch_id)
            return None if batch is None else self._render(batch, preview=True)

    def _forget(self, batch: BatchGroup) -> None:
        if self._batches.pop(batch.id, None) is None:
            return  # not pending (any more)
        self._deadlines.left(batch)
        queue = self._channels.get(batch.channel_id)
        if queue is not None:
            queue.remove_batch(batch)
            if not queue.open_count:
                del self._channels[batch.channel_id]
                self.recorder.closed(batch.channel_id, queue, queue.stats)
        self.recorder.left(batch)

    def _flush_many(
        self, batches: list[BatchGroup], reason: FlushReason, *, returned: bool
    ) -> dict[str, list[SlackMessage]]:
        """Flush each batch; one failing batch is logged, stays pending and stops no other."""
        result: dict[str, list[SlackMessage]] = {}
        for batch in batches:
            try:
                message = self._flush(batch, reason, returned=returned)
            except Exception as exc:  # whatever a formatter or store raised: keep the batch
                logger.error(
                    "could not flush batch %s (%s): %s",
                    batch.id,
                    reason,
                    exc,
                    extra=log_fields(channel=batch.channel_id, batch_id=batch.id),
                )
                continue
            result.setdefault(batch.channel_id, []).append(message)
        return result

    def _hand_over(
        self, result: dict[str, list[SlackMessage]], channel_id: str | None = None
    ) -> dict[str, list[SlackMessage]]:
        """In auto-ack mode, add side-path flushes waiting in the outbox to *result*."""
        if not self.auto_ack:
            return result
        for cid, messages in self.outbox.take(channel_id).items():
            result.setdefault(cid, []).extend(messages)
        return result

    def flush_all_batches(self) -> dict[str, list[SlackMessage]]:
        """Flush every pending batch; return the messages by channel."""
        with self._lock:
            batches = list(self._batches.values())
            return self._hand_over(self._flush_many(batches, FlushReason.MANUAL, returned=True))

    def flush_channel_batches(self, channel_id: str) -> list[SlackMessage]:
        """Flush every pending batch of *channel_id*; return its messages in opening order."""
        with self._lock:
            queue = self._channels.get(channel_id)
            batches = list(queue.batches.values()) if queue else []
            result = self._flush_many(batches, FlushReason.MANUAL, returned=_RETURNED)
            return self._hand_over(result, channel_id).get(channel_id, [])

    def flush_expired_batches(self) -> dict[str, list[SlackMessage]]:
        """Flush the batches whose window has closed; return the messages by channel.

        Cost grows with the number of due batches (a deadline heap), not with all pending.
        A batch that fails to flush stays pending and is retried on the next call.
        """
        with self._lock:
            due = self._deadlines.pop_due(self.clock.now())
            try:
                result = self._flush_many(due, FlushReason.WINDOW, returned=_RETURNED)
            finally:
                for batch in due:
                    if batch.id in self._batches:  # not flushed: keep its deadline
                        self._deadlines.push(batch)
            return self._hand_over(result)

    def force_flush_batch(self, batch_id: str) -> SlackMessage | None:
        """Flush one batch now, whatever its size or age; None if no batch has that id."""
        with self._lock:
            batch = self._batches.get(batch_id)
            if batch is None:
                return None
            return self._flush(batch, FlushReason.MANUAL, returned=_RETURNED)

    def flush_early(self, batch_ids: list[str], reason: FlushReason) -> int:
        """Flush the pending batches *batch_ids* on a side path (into the outbox).

        For resource control (channel overflow, memory pressure): nobody receives the
        messages here; they are delivered from the outbox. Returns how many flushed.
        """
        with self._lock:
            batches = [b for b in map(self._batches.get, batch_ids) if b is not None]
            flushed = self._flush_many(batches, reason, returned=_SIDE_PATH)
            return sum(len(v) for v in flushed.values())

    def shutdown(self) -> dict[str, list[SlackMessage]]:
        """Flush everything pending (reason ``shutdown``) and return it by channel."""
        with self._lock:
            batches = list(self._batches.values())
            return self._hand_over(self._flush_many(batches, FlushReason.SHUTDOWN, returned=True))

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
                letter = self._stale_letter(batch, now, max_age_hours)
                self._store_call(self.store.record_dead_batch, batch, letter)
                self._forget(batch)
                self.recorder.dead_lettered(letter)
            if stale:
                logger.warning("dead-lettered %d stale batches", len(stale))
            return len(stale)

    def _stale_letter(self, batch: BatchGroup, now: datetime, max_age_hours: float) -> DeadLetter:
        """Return the dead letter of *batch*, pending since too long before *now*."""
        hours = (now - batch.created_at).total_seconds() / 3600
        return self.letters.new_letter(
            channel_id=batch.channel_id,
            reason=f"stale: pending {hours:.1f} h (limit {max_age_hours:g} h)",
            messages=list(batch.messages),
            batch_id=batch.id,
        )
