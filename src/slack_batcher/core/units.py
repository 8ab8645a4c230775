"""Delivery units: the messages of one webhook delivery join one batch and flush together.

One Alertmanager notification carries a whole alert group (30 alerts, say). Added one by one,
``max_batch_size`` (5) would cut it into six posts, and an urgent alert among them would
flush alone, each a partial picture. :meth:`UnitAdding.add_unit` adds such a delivery as a
unit: in each channel its messages join the batch its first message joins or opens (when
grouping allows: the same partition), and no flush trigger fires until every message is
placed; then each batch that a trigger (size, urgent, leading edge) asked for flushes once,
holding the whole delivery. The batch is still due at its window otherwise: the seed's
defaults (5 items / 5 minutes) are unchanged for messages added one at a time.

Mixed into :class:`~slack_batcher.core.batcher.MessageBatcher`, whose ``_place`` asks the
unit being added (``_unit``) which batch to join and hands it the flush it would have done.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from ..formatting.message import SlackMessage
from ..model.batch import BatchGroup
from ..model.errors import InvalidMessageError, StoreError
from ..model.message import BatchableMessage
from .flush import AddResult, FlushReason

__all__ = ["DeliveryUnit", "UnitAdding"]


class _Owed:
    """A batch of the unit: the first flush reason a trigger gave, its last message's index."""

    __slots__ = ("batch", "last", "reason")

    def __init__(self, batch: BatchGroup, reason: FlushReason | None, last: int) -> None:
        self.batch = batch
        self.reason = reason
        self.last = last


class DeliveryUnit:
    """The batches a unit's messages joined, and the flush each of them is owed."""

    __slots__ = ("index", "joined", "owed")

    def __init__(self) -> None:
        #: The position of the message being placed.
        self.index = 0
        #: Channel → the batch the unit's messages in it join.
        self.joined: dict[str, BatchGroup] = {}
        #: Batch id → what the batch is owed.
        self.owed: dict[str, _Owed] = {}

    def batch_for(
        self, channel_id: str, partition: tuple[str, ...], pending: dict[str, BatchGroup]
    ) -> BatchGroup | None:
        """Return the pending batch the unit's messages in *channel_id* join, if it fits."""
        batch = self.joined.get(channel_id)
        if batch is None or batch.partition != partition or pending.get(batch.id) is not batch:
            return None
        return batch

    def hold(self, channel_id: str, batch: BatchGroup, reason: FlushReason | None) -> None:
        """Note that the current message joined *batch*; a trigger's *reason* is owed later."""
        self.joined.setdefault(channel_id, batch)
        owed = self.owed.get(batch.id)
        if owed is None:
            self.owed[batch.id] = _Owed(batch, reason, self.index)
            return
        if owed.reason is None:
            owed.reason = reason
        owed.last = self.index


class UnitAdding:
    """:meth:`add_unit` for :class:`~slack_batcher.core.batcher.MessageBatcher`."""

    _lock: threading.RLock
    _batches: dict[str, BatchGroup]
    _unit: DeliveryUnit | None

    def check_message(self, message: object, channel_id: object) -> None:
        """Raise InvalidMessageError naming the field (the batcher's)."""
        raise NotImplementedError

    def _place(
        self, message: BatchableMessage, channel_id: str, returned: bool
    ) -> tuple[str, bool, SlackMessage | None, FlushReason | None]:
        raise NotImplementedError

    def _flush(self, batch: BatchGroup, reason: FlushReason, *, returned: bool) -> SlackMessage:
        raise NotImplementedError

    def add_unit(
        self, events: Iterable[tuple[BatchableMessage, str]]
    ) -> tuple[list[AddResult], Exception | None]:
        """Add the (message, channel) pairs of one delivery as a unit (see the module).

        Every message is checked first: an invalid one raises nothing, stores nothing and is
        returned as the error, with no results. Returns the results in order (a batch that
        flushed is on the result of its last message of the unit) and the store error that
        stopped the rest, or None; what was placed before a store error still flushes as
        the unit asked. A batcher that places messages elsewhere (the shared Redis one)
        adds them one by one.
        """
        pending = list(events)
        try:
            for message, channel_id in pending:
                self.check_message(message, channel_id)
        except InvalidMessageError as exc:
            return [], exc
        results: list[AddResult] = []
        error: Exception | None = None
        with self._lock:
            unit = self._unit = DeliveryUnit()
            try:
                for index, (message, channel_id) in enumerate(pending):
                    unit.index = index
                    batch_id, duplicate, flushed, reason = self._place(message, channel_id, True)
                    results.append(AddResult(batch_id, duplicate, flushed, reason))
            except (InvalidMessageError, StoreError) as exc:
                error = exc
            finally:
                self._unit = None
            for owed in unit.owed.values():
                batch, reason = owed.batch, owed.reason
                if reason is None or self._batches.get(batch.id) is not batch:
                    continue
                message_out = self._flush(batch, reason, returned=True)
                if owed.last < len(results):
                    results[owed.last] = AddResult(batch.id, False, message_out, reason)
        return results, error
