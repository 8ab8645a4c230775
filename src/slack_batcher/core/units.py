"""Delivery units: the messages of one webhook delivery join one batch and flush together.

One Alertmanager notification carries a whole alert group (30 alerts, say). Added one by one,
``max_batch_size`` (5) would cut it into six posts, and an urgent alert among them would
flush alone, each a partial picture. :meth:`UnitAdding.add_unit` adds such a delivery as a
unit: in each channel its messages join the batch its first message joins or opens (when
grouping allows: the same partition), and no flush trigger fires until every message is
placed; then each batch that a trigger (size, urgent, leading edge) asked for flushes once,
holding the whole delivery. The batch is still due at its window otherwise: the seed's
defaults (5 items / 5 minutes) are unchanged for messages added one at a time.

:meth:`MessageBatcher.add_unit <slack_batcher.core.batcher.MessageBatcher.add_unit>` opens a
unit in the pending index (``begin_unit``): the in-process index asks it which batch to join
and hands it the flush it would have done; ``end_unit`` returns the flushes owed. The
shared index (Redis) places the whole unit with one Lua script (``place_unit``, run by its
``place_many`` between ``begin_unit`` and ``end_unit``), the same decisions atomically:
another instance adding to the channel meanwhile cannot split the delivery, and the batches
owed a flush come back claimed by this instance.
"""

from __future__ import annotations

from ..model.batch import BatchGroup
from ..model.flush import FlushReason

__all__ = ["DeliveryUnit", "Owed"]


#: A flush a unit owes: the batch, why it flushes, the index of its last message of the unit.
Owed = tuple[BatchGroup, FlushReason, int]


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

    def owed_flushes(self, pending: dict[str, BatchGroup]) -> list[Owed]:
        """Return the flushes the unit owes: (batch, reason, index of its last message)."""
        return [
            (o.batch, o.reason, o.last)
            for o in self.owed.values()
            if o.reason is not None and pending.get(o.batch.id) is o.batch
        ]

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
