"""Placer: adding messages, over the pending index, for :class:`~.batcher.MessageBatcher`.

Validates each message, places it through the pending index (the seam), counts what
happened and flushes the batch a placement claimed (full, urgent, leading, or batching
disabled). Every call takes the batcher's lock. Owned by the facade, whose ``add`` and
``add_message`` call :meth:`Placer.place` directly (the hot path: no extra call level).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime

from ..formatting.message import SlackMessage
from ..model.clock import Clock
from ..model.config import BatchConfig
from ..model.errors import InvalidMessageError, MessageTooLargeError, StoreError
from ..model.flush import FlushReason, check_channel_id
from ..model.message import BatchableMessage
from .error_handler import BatchErrorHandler
from .flush import AddResult
from .flushing import Flusher
from .pending import PendingBatches, Placed
from .recording import StatsRecorder
from .rules import ChannelRules

__all__ = ["Added", "Placer"]

#: What :meth:`Placer.place` returns: the fields of an AddResult.
Added = tuple[str, bool, SlackMessage | None, FlushReason | None]


class Placer:
    """Adds messages for the facade (see the module docstring).

    *channel_rules* is the facade's own dict of per-channel rules (it changes them);
    *rules* the batcher's.
    """

    def __init__(
        self,
        pending: PendingBatches,
        *,
        config: BatchConfig,
        rules: ChannelRules,
        channel_rules: dict[str, ChannelRules],
        lock: threading.RLock,
        clock: Clock,
        recorder: StatsRecorder,
        flusher: Flusher,
        error_handler: BatchErrorHandler,
    ) -> None:
        self._pending = pending
        self._shared = not pending.local
        self._rules = rules
        self._channel_rules = channel_rules
        self._lock = lock
        self._clock = clock
        self._recorder = recorder
        self._stats = recorder.stats
        self._flusher = flusher
        self._error_handler = error_handler
        self._max_message_bytes = config.max_message_bytes
        self._memory_budget = config.memory_budget_bytes

    def _rules_for(self, channel_id: str) -> ChannelRules:
        return self._channel_rules.get(channel_id, self._rules)

    def place(self, message: BatchableMessage, channel_id: str, returned: bool) -> Added:
        """Place *message* through the pending index; flush the batch it claimed, if any."""
        if type(message) is not BatchableMessage or message.size_bytes > self._max_message_bytes:
            self.check(message, channel_id)  # raises, naming the field
        lock = self._lock  # acquire/release: cheaper than a with block, same semantics
        lock.acquire()
        try:
            rules = self._rules
            if self._channel_rules and isinstance(channel_id, str):
                rules = self._channel_rules.get(channel_id, rules)
            now = self._clock.now()
            try:
                placed = self._pending.place(message, channel_id, rules, now)
            except BaseException as exc:
                self._unplaced(exc)
                raise
            return self._placed(placed, message, channel_id, now, returned)
        finally:
            lock.release()

    def _unplaced(self, exc: BaseException) -> None:
        """Count a message received but neither placed nor a duplicate (and a store failure)."""
        self._stats.messages_unplaced += 1
        if isinstance(exc, Exception) and not isinstance(exc, InvalidMessageError):
            self._recorder.error()

    def _placed(
        self,
        placed: Placed,
        message: BatchableMessage,
        channel_id: str,
        now: datetime,
        returned: bool,
    ) -> Added:
        """Count what placing did, and flush the batch it claimed, if any."""
        batch_id, duplicate, opened, batch, reason = placed
        if duplicate:
            self._recorder.duplicate(channel_id)
            return batch_id, True, None, None
        # Counted once each: the rest (received, operations, per channel) is derived.
        stats = self._stats
        stats.messages_batched += 1
        stats.messages_by_type[message.content_type] += 1
        if opened:
            stats.batches_created += 1
        if self._shared:  # no queue here counts the channel's activity
            channel = self._recorder.channel(channel_id)
            channel.messages_batched += 1
            channel.last_activity = now
            if opened:
                channel.batches_created += 1
        flushed = None
        if batch is not None and reason is not None:
            flushed = self._flusher.flush(batch, reason, returned=returned)
        budget = self._memory_budget
        if budget is not None and self._recorder.memory_estimate() > budget:
            self._error_handler.relieve_memory(budget)
        return batch_id, False, flushed, reason

    def add_many(
        self, events: Iterable[tuple[BatchableMessage, str]]
    ) -> tuple[list[AddResult], Exception | None]:
        """Add several events (see :meth:`MessageBatcher.add_many`)."""
        valid: list[tuple[BatchableMessage, str]] = []
        error: Exception | None = None
        for message, channel_id in events:
            try:
                self.check(message, channel_id)
            except InvalidMessageError as exc:
                error = exc
                break
            valid.append((message, channel_id))
        with self._lock:
            results, failure = self._place_many(valid)
        return results, failure or error

    def _place_many(
        self, events: list[tuple[BatchableMessage, str]]
    ) -> tuple[list[AddResult], Exception | None]:
        """Place valid *events* through ``place_many`` (the lock held); stop at a store error."""
        results: list[AddResult] = []
        calls = [(m, c, self._rules_for(c)) for m, c in events]
        while calls:
            now = self._clock.now()
            placed, failure = self._pending.place_many(calls, now)
            for done, (message, channel_id, _) in zip(placed, calls, strict=False):
                results.append(AddResult(*self._placed(done, message, channel_id, now, True)))
            if failure is not None:
                self._unplaced(failure)
                return results, failure
            calls = calls[len(placed) :]
        return results, None

    def add_unit(
        self, events: Iterable[tuple[BatchableMessage, str]]
    ) -> tuple[list[AddResult], Exception | None]:
        """Add one delivery's events as a unit (see :meth:`MessageBatcher.add_unit`).

        Shared batches: the whole unit is placed by ``place_many`` (one Lua script).
        """
        pending = list(events)
        try:
            for message, channel_id in pending:
                self.check(message, channel_id)
        except InvalidMessageError as exc:
            return [], exc
        results: list[AddResult] = []
        error: Exception | None = None
        with self._lock:
            unit = self._pending.begin_unit()
            try:
                if self._shared:
                    results, error = self._place_many(pending)
                else:
                    for index, (message, channel_id) in enumerate(pending):
                        if unit is not None:
                            unit.index = index
                        results.append(AddResult(*self.place(message, channel_id, True)))
            except (InvalidMessageError, StoreError) as exc:
                error = exc
            finally:
                owed = self._pending.end_unit()
            for batch, reason, last in owed:
                flushed = self._flusher.flush(batch, reason, returned=True)
                if last < len(results):
                    results[last] = AddResult(batch.id, False, flushed, reason)
        return results, error

    def check(self, message: object, channel_id: object) -> None:
        """Raise InvalidMessageError if *add* would refuse it (see ``MessageBatcher``)."""
        if not isinstance(message, BatchableMessage):
            raise InvalidMessageError(
                "message", f"expected a BatchableMessage, got {type(message).__name__}"
            )
        check_channel_id(channel_id)
        limit = self._max_message_bytes
        if message.size_bytes > limit:
            with self._lock:
                self._stats.rejected += 1
            raise MessageTooLargeError(
                "data",
                f"message {message.id!r} is {message.size_bytes} bytes; the limit is {limit}",
            )
