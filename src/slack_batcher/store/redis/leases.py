"""RedisLeases: who delivers each outbox entry of instances sharing one Redis.

One instance at a time delivers a channel (so its posts keep their order, and its live
digests are edited by one writer): an entry written by a flush goes to that instance, or
to the flushing one, which then holds the channel. An entry is held under a *lease* that
the owner extends while it works (:meth:`RedisLeases.maintain`, and every saved attempt);
an entry flushed by another instance into a channel this one delivers arrives through
:meth:`~RedisLeases.maintain` too (within ``poll_seconds``).

An instance that dies stops extending; once the lease has run out, the next instance to
call :meth:`~RedisLeases.maintain` takes the entry over, marked ``state.taken_over``
(the runtime counts it as recovered, and as a possible duplicate when it was caught
mid-post). An instance that stops cleanly gives its entries back
(:meth:`~RedisLeases.release`) so they are taken over at once.

Saving progress on an entry this instance no longer holds raises
:class:`~slack_batcher.model.errors.LeaseLostError`: the new owner delivers it. The core's
:class:`~slack_batcher.core.outbox.Outbox` asks this object (the ``OutboxLeases``
capability of :mod:`slack_batcher.store.base`) wherever ownership matters.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta

from ...model.clock import Clock
from ...model.errors import LeaseLostError, StoreError
from ..base import OutboxEntry
from ..codec import micros
from .store import RedisStore

__all__ = ["RedisLeases"]

logger = logging.getLogger(__name__)

#: Entries leased per script call.
_LEASE_BATCH = 200


class RedisLeases:
    """Per-entry ownership of the shared outbox, for the instance *owner*."""

    def __init__(self, store: RedisStore, *, clock: Clock, owner: str, lease: timedelta) -> None:
        self.redis = store
        self.clock = clock
        self.owner = owner
        self.lease = lease
        #: Entries this instance holds the lease of.
        self.held: set[str] = set()
        #: Entries taken over from another instance (or given back by one that stopped).
        self.taken_over = 0
        #: Entries this instance lost to another one (its lease had run out).
        self.lost = 0
        #: Failed looks at Redis in a row: the deadline timer backs off while Redis is down.
        self.failures = 0
        self._last_size = 0

    def _lease_end(self) -> int:
        return micros(self.clock.now() + self.lease)

    def hold(self, entry_id: str) -> None:
        """Note an entry this instance flushed (and so holds)."""
        self.held.add(entry_id)

    def size(self) -> int:
        """Return how many flushed messages wait for delivery, across every instance.

        While Redis is unreachable: the last size read (stats and health keep working).
        """
        with contextlib.suppress(StoreError):
            self._last_size = int(
                self.redis.call(self.redis.client.zcard, self.redis.key("outbox"))
            )
        return self._last_size

    def waiting(self) -> list[OutboxEntry]:
        """Lease the entries nobody holds (or handed to this instance) and return them."""
        received: list[OutboxEntry] = []
        taken_over = 0
        now = micros(self.clock.now())
        while True:
            reply = self.redis.run("lease", now, self.owner, self._lease_end(), _LEASE_BATCH)
            before = dict(zip(reply[::2], reply[1::2], strict=True))
            fresh = [i for i in before if i not in self.held]
            for entry in self.redis.entries(fresh):
                if before[entry.id] != self.owner:  # not handed to us: another let it go
                    entry.state.taken_over = str(before[entry.id])
                    taken_over += 1
                self.held.add(entry.id)
                received.append(entry)
            if len(before) < _LEASE_BATCH:
                break
        if taken_over:
            self.taken_over += taken_over
            logger.info("took over %d undelivered posts", taken_over)
        return received

    def maintain(self) -> list[OutboxEntry]:
        """Extend this instance's leases; lease and return the entries nobody holds.

        Counts a failure (for the deadline timer's backoff) when Redis does not answer.
        """
        try:
            if self.held:
                lost = self.redis.run("renew", self.owner, self._lease_end(), *sorted(self.held))
                for entry_id in lost:
                    self._lose(entry_id)
            entries = self.waiting()
        except StoreError:
            self.failures += 1
            raise
        self.failures = 0
        return entries

    def _lose(self, entry_id: str) -> None:
        if entry_id in self.held:
            self.held.discard(entry_id)
            self.lost += 1

    def save(self, entry: OutboxEntry) -> None:
        """Save progress and extend the lease; LeaseLostError if another instance has it."""
        entry.state.taken_over = None
        saved = self.redis.save_progress(entry, owner=self.owner, lease_until=self._lease_end())
        if saved != 1:
            self._lose(entry.id)
            raise LeaseLostError(
                f"outbox entry {entry.id} is now delivered by another instance"
                if saved == -1
                else f"outbox entry {entry.id} was delivered by another instance"
            )

    def drop(self, entry_id: str) -> None:
        """Forget an entry acknowledged or dead-lettered here."""
        self.held.discard(entry_id)

    def held_entries(self) -> list[OutboxEntry]:
        """Return the entries this instance holds."""
        return self.redis.entries(sorted(self.held))

    def release(self) -> int:
        """Give every held entry back, for another instance to deliver; return how many."""
        if not self.held:
            return 0
        released = int(self.redis.run("release", self.owner, *sorted(self.held)))
        self.held.clear()
        return released
