"""Flusher: turning claimed batches into posts, on every path, and dead-lettering stale ones.

Owned by :class:`~slack_batcher.core.batcher.MessageBatcher`, which holds the lock around
every call. A flush renders the batch, settles it through the pending index (the outbox
entry written with it when delivery is tracked) and counts it; a batch that fails to flush
stays pending and stops no other. Side-path flushes (overflow, memory pressure, leaving a
``with`` block) go to the outbox; in auto-ack mode the next ``flush_*`` call hands them
over.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from ..formatting.message import SlackMessage
from ..model.batch import BatchGroup
from ..model.clock import Clock
from ..model.flush import FlushReason
from ..store.base import DeadLetter, OutboxEntry
from .dead_letters import DeadLetters
from .log_fields import log_fields
from .outbox import Outbox
from .pending import PendingBatches
from .recording import StatsRecorder
from .rendering import deferred_message

__all__ = ["RETURNED", "SIDE_PATH", "Flusher"]

# The facade's logger: one name for users to tune, whichever module logs.
logger = logging.getLogger("slack_batcher.core.batcher")

#: Whether a flush's messages are returned to the caller (auto-ack applies to them).
RETURNED = True
SIDE_PATH = False
#: Due batches claimed per call to the pending index.
_CLAIM_BATCH = 100


class Flusher:
    """The flush paths over a pending index; see the module docstring.

    *render* turns a batch into its post (``preview=True``: without counting).
    """

    def __init__(
        self,
        pending: PendingBatches,
        *,
        outbox: Outbox,
        letters: DeadLetters,
        recorder: StatsRecorder,
        clock: Clock,
        render: Callable[[BatchGroup], SlackMessage],
        auto_ack: bool,
    ) -> None:
        self._pending = pending
        self._outbox = outbox
        self._letters = letters
        self._recorder = recorder
        self._clock = clock
        self._render = render
        self.auto_ack = auto_ack
        #: Set by a runtime whose deliverer renders what it posts: a batch this answers
        #: True for (one going into a live digest, whose thread reply is rendered from the
        #: digest) is flushed with a stand-in (:func:`.rendering.deferred_message`) and
        #: rendered only if it is posted on its own. Never a flush the caller takes itself
        #: (auto-ack): that is rendered at once.
        self.defer_render: Callable[[BatchGroup], bool] | None = None

    def store_call(self, method: Callable[..., Any], *args: Any) -> Any:
        """Call a store method; count a failure (and raise it)."""
        try:
            return method(*args)
        except Exception:
            self._recorder.error()
            raise

    def flush(
        self, batch: BatchGroup, reason: FlushReason, *, returned: bool
    ) -> SlackMessage | None:
        """Render a claimed *batch*, settle it (into the outbox when tracked) and count it.

        Returns None when another instance flushed it meanwhile (shared batches). Raises
        what rendering or the store raised: the batch then stays pending.
        """
        defer = self.defer_render
        if defer is not None and not (returned and self.auto_ack) and defer(batch):
            message = deferred_message(batch)
        else:
            message = self._render(batch)
        now = self._clock.now()
        # The caller takes a returned flush in auto-ack mode: no outbox entry (no call).
        entry = (
            None
            if returned and self.auto_ack
            else self._outbox_entry(batch, message, reason, now, returned=returned)
        )
        try:  # store_call, inlined: once per flush
            written = self._pending.settle(batch, entry, now)
        except Exception:
            self._recorder.error()
            raise
        if not written:
            logger.info("batch %s was flushed by another instance", batch.id)
            return None
        if entry is not None and written == 1:  # 2: the channel's deliverer takes it
            self._outbox.written(entry)
        self._recorder.flushed(batch, reason, max((now - batch.created_at).total_seconds(), 0.0))
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

    def flush_many(
        self, batches: Iterable[BatchGroup], reason: FlushReason, *, returned: bool
    ) -> dict[str, list[SlackMessage]]:
        """Flush each batch; one failing batch is logged, stays pending and stops no other."""
        result: dict[str, list[SlackMessage]] = {}
        for batch in batches:
            try:
                message = self.flush(batch, reason, returned=returned)
            except Exception as exc:  # whatever a formatter or store raised: keep the batch
                logger.error(
                    "could not flush batch %s (%s): %s",
                    batch.id,
                    reason,
                    exc,
                    extra=log_fields(channel=batch.channel_id, batch_id=batch.id),
                )
                continue
            if message is not None:
                result.setdefault(batch.channel_id, []).append(message)
        return result

    def claim(self, batch_ids: Iterable[str]) -> list[BatchGroup]:
        """Claim the pending batches *batch_ids* (unknown or claimed ones are skipped)."""
        claimed: list[BatchGroup] = self.store_call(
            self._pending.claim, batch_ids, self._clock.now()
        )
        return claimed

    def flush_ids(
        self, batch_ids: Iterable[str], reason: FlushReason, *, returned: bool
    ) -> dict[str, list[SlackMessage]]:
        """Claim the pending batches *batch_ids* and flush them."""
        return self.flush_many(self.claim(batch_ids), reason, returned=returned)

    def flush_all(
        self, reason: FlushReason, *, returned: bool, channel_id: str | None = None
    ) -> dict[str, list[SlackMessage]]:
        """Claim and flush every pending batch (of one channel), by channel.

        Returned flushes come with the side-path ones waiting in the outbox (auto-ack).
        """
        result = self.flush_ids(self._pending.batch_ids(channel_id), reason, returned=returned)
        return self.hand_over(result, channel_id) if returned else result

    def flush_one(self, batch_id: str) -> SlackMessage | None:
        """Claim and flush one batch (manually); None if no batch has that id."""
        claimed = self.claim([batch_id])
        return self.flush(claimed[0], FlushReason.MANUAL, returned=RETURNED) if claimed else None

    def flush_expired(self) -> dict[str, list[SlackMessage]]:
        """Claim and flush every due batch; one that fails stays pending, due again.

        Shared: first extends this instance's delivery leases and takes over entries
        nobody holds. Side-path flushes waiting in the outbox come along (auto-ack).
        """
        result: dict[str, list[SlackMessage]] = {}
        if self._outbox.leases is not None:
            self._outbox.maintain()
        pending = self._pending
        while True:
            try:
                due = pending.claim_due(self._clock.now(), _CLAIM_BATCH)
            except Exception:
                self._recorder.error()
                raise
            if not due:  # the usual answer of a deadline timer's look: nothing more to do
                return self.hand_over(result) if self.auto_ack else result
            try:
                flushed = self.flush_many(due, FlushReason.WINDOW, returned=RETURNED)
            finally:
                pending.release(due)
            count = 0
            for channel_id, messages in flushed.items():
                result.setdefault(channel_id, []).extend(messages)
                count += len(messages)
            # Fewer than asked: none left. One failed: due again later (next look), not now.
            if len(due) < _CLAIM_BATCH or count < len(due):
                return self.hand_over(result) if self.auto_ack else result

    def hand_over(
        self, result: dict[str, list[SlackMessage]], channel_id: str | None = None
    ) -> dict[str, list[SlackMessage]]:
        """In auto-ack mode, add side-path flushes waiting in the outbox to *result*."""
        if not self.auto_ack:
            return result
        for cid, messages in self._outbox.take(channel_id).items():
            result.setdefault(cid, []).extend(messages)
        return result

    def dead_letter_stale(self, max_age_hours: float) -> int:
        """Dead-letter batches pending longer than *max_age_hours*; return how many."""
        now = self._clock.now()
        cutoff = now - timedelta(hours=max_age_hours)
        stale_ids = self.store_call(self._pending.stale_ids, cutoff)
        count = 0
        for batch in self.store_call(self._pending.claim, stale_ids, now):
            letter = self._stale_letter(batch, now, max_age_hours)
            if self.store_call(self._pending.discard, batch, letter):
                self._recorder.dead_lettered(letter)
                count += 1
        if count:
            logger.warning("dead-lettered %d stale batches", count)
        return count

    def _stale_letter(self, batch: BatchGroup, now: datetime, max_age_hours: float) -> DeadLetter:
        """Return the dead letter of *batch*, pending since too long before *now*."""
        hours = (now - batch.created_at).total_seconds() / 3600
        return self._letters.new_letter(
            channel_id=batch.channel_id,
            reason=f"stale: pending {hours:.1f} h (limit {max_age_hours:g} h)",
            messages=list(batch.messages),
            batch_id=batch.id,
        )
