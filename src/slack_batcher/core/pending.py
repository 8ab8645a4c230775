"""The seam: where pending batches live, as :class:`MessageBatcher` sees them.

Two implementations: the in-process index (:class:`~slack_batcher.core.local.LocalBatches`,
the default: channel queues, a deadline index, the store told of every change) and the
shared one in Redis (:class:`~slack_batcher.store.redis.pending.RedisBatches`: placement and
claims in Lua, for several instances). The batcher owns one and does the rest the same way
over either: it renders what a placement or a claim hands it, writes the outbox entry
through :meth:`PendingBatches.settle`, counts, and answers the seed's API.

A batch handed to the batcher for flushing (by ``place`` when full or urgent, by
``claim_due`` or ``claim``) is *claimed*: the shared index gives each batch to one instance;
in-process, claiming changes nothing until :meth:`~PendingBatches.settle` forgets it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from ..model.batch import BatchGroup
from ..model.flush import FlushReason
from ..model.message import BatchableMessage
from ..model.stats import StatsContributor
from ..store.base import DeadLetter, OutboxEntry, OutboxLeases
from .recording import PendingView
from .rules import ChannelRules
from .units import DeliveryUnit, Owed

__all__ = ["PendingBatches", "Placed"]

#: What placing one message did: (batch id, duplicate, opened a batch, the batch to flush
#: now — claimed — or None, why it flushes or None).
Placed = tuple[str, bool, bool, BatchGroup | None, FlushReason | None]


class PendingBatches(Protocol):
    """Where pending batches live: placed, claimed for flushing, settled, viewed."""

    #: True when the batches live in this process and leave with it: shutdown flushes them,
    #: and the index counts its channels' activity. False when they are shared (Redis):
    #: they stay for the other instances, and the batcher counts each channel's activity.
    local: bool

    @property
    def leases(self) -> OutboxLeases | None:
        """Who delivers which outbox entry when instances share the outbox (else None)."""
        ...

    def restore(self) -> int:
        """Rebuild what the store kept pending at the last stop; return the outbox's size."""
        ...

    def place(
        self, message: BatchableMessage, channel_id: str, rules: ChannelRules, now: datetime
    ) -> Placed:
        """Put *message* (valid) in the batch of *channel_id* it joins, or a new one.

        *rules* are the channel's. Decides the size, urgent,
        leading and disabled triggers; the batch to flush comes back claimed. Raises
        :class:`~slack_batcher.model.errors.InvalidMessageError` for a bad channel id, and
        whatever the store raises (nothing is placed then).
        """
        ...

    def place_many(
        self, calls: Sequence[tuple[BatchableMessage, str, ChannelRules]], now: datetime
    ) -> tuple[list[Placed], Exception | None]:
        """Place several (message, channel, rules) in order; return what was placed.

        Stops at the first error (returned with what was placed before it). May also stop
        early, without error, after a placement that claims a batch: the caller flushes it
        and calls again with the rest (the in-process index does; the shared one places
        everything, a claimed batch being out of the open ones already).
        """
        ...

    def begin_unit(self) -> DeliveryUnit | None:
        """Place the next messages as one delivery unit (see :mod:`.units`); return it.

        The shared index returns None: the unit is the next :meth:`place_many` call, placed
        whole by one script; :meth:`end_unit` returns its owed flushes, claimed.
        """
        ...

    def end_unit(self) -> Sequence[Owed]:
        """Close the unit; return the flushes it owes (batch, reason, index of its last)."""
        ...

    def claim_due(self, now: datetime, limit: int) -> list[BatchGroup]:
        """Claim batches due by *now* (at most about *limit*), for the caller to flush."""
        ...

    def claim(self, batch_ids: Iterable[str], now: datetime) -> list[BatchGroup]:
        """Claim the pending batches *batch_ids* (unknown or claimed ones are skipped)."""
        ...

    def release(self, batches: Iterable[BatchGroup]) -> None:
        """Keep claimed *batches* that failed to flush pending, due again."""
        ...

    def settle(self, batch: BatchGroup, entry: OutboxEntry | None, now: datetime) -> int:
        """Record a claimed *batch* as flushed into *entry* (None: the caller took it).

        Returns 1 when this instance delivers *entry*, 2 when another instance delivering
        the channel does, 0 when the claim was lost (another instance flushed the batch).
        """
        ...

    def discard(self, batch: BatchGroup, letter: DeadLetter) -> bool:
        """Dead-letter a claimed *batch* as *letter*; False when the claim was lost."""
        ...

    def get(self, batch_id: str) -> BatchGroup | None:
        """Return one pending batch, or None."""
        ...

    def batch_ids(self, channel_id: str | None = None) -> list[str]:
        """Return the pending batch ids (of one channel: its open ones), in opening order."""
        ...

    def oldest_id(self) -> str | None:
        """Return the id of the pending batch opened first, or None."""
        ...

    def stale_ids(self, cutoff: datetime) -> list[str]:
        """Return ids of pending batches opened at or before *cutoff* (a bounded look)."""
        ...

    def view(self, channel_id: str | None = None) -> dict[str, list[BatchGroup]]:
        """Return the pending batches (optionally of one channel) by channel, opening order."""
        ...

    def configure(self, channel_id: str, rules: ChannelRules) -> None:
        """Place *channel_id*'s open batches by its new *rules* from now on."""
        ...

    def next_due(self, now: datetime) -> datetime | None:
        """Return when the deadline timer should look again (None: nothing pending)."""
        ...

    def placed_due(self) -> datetime | None:
        """Return the earliest due time known without a store round trip."""
        ...

    def channels(self) -> Mapping[str, PendingView]:
        """Return the channels whose activity this process keeps, by id."""
        ...

    def channel_count(self) -> int:
        """Return how many channels have pending batches."""
        ...

    def least_active_channel(self) -> str | None:
        """Return the least recently active channel with pending batches (local only)."""
        ...

    def due_times(self) -> list[datetime]:
        """Return the due times health looks at (the shared index: the earliest)."""
        ...

    def figures(self) -> dict[str, Any]:
        """Return stats that override the counted ones (the shared pending figures)."""
        ...

    def contributors(self) -> list[StatsContributor]:
        """Return stats contributors the index brings (the shared index's ``shared``)."""
        ...

    def close(self) -> None:
        """Let go of what this instance holds (the shared index: its outbox leases)."""
        ...
