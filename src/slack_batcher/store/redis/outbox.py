"""LeasedOutbox: the outbox of instances sharing one Redis, each entry delivered by one owner.

One instance at a time delivers a channel (so its posts keep their order, and its live
digests are edited by one writer): an entry written by a flush goes to that instance, or
to the flushing one, which then holds the channel. An entry is held under a *lease* that
the owner extends while it works (:meth:`LeasedOutbox.maintain`, and every saved attempt);
an entry flushed by another instance into a channel this one delivers arrives through
:meth:`~LeasedOutbox.maintain` too (within ``poll_seconds``).
An instance that dies stops extending; once the lease has run out, the next instance to
call :meth:`~LeasedOutbox.maintain` takes the entry over and its listeners receive it,
marked ``state.taken_over`` (the runtime counts it as recovered, and as a possible
duplicate when it was caught mid-post). An instance that stops cleanly gives its entries
back (:meth:`~LeasedOutbox.release`) so they are taken over at once.

Saving progress on an entry this instance no longer holds raises
:class:`~slack_batcher.model.errors.LeaseLostError`: the new owner delivers it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from datetime import timedelta

from ...core.dead_letters import DeadLetters
from ...core.outbox import Outbox, OutboxListener
from ...core.recording import StatsRecorder
from ...formatting.message import SlackMessage
from ...model.clock import Clock
from ...model.errors import LeaseLostError, StoreError
from ..base import DeadLetter, OutboxEntry
from .codec import micros
from .store import RedisStore

__all__ = ["LeasedOutbox"]

logger = logging.getLogger(__name__)

#: Entries leased per script call.
_LEASE_BATCH = 200


class LeasedOutbox(Outbox):
    """The outbox over a shared :class:`RedisStore`, with per-entry ownership and leases."""

    def __init__(
        self,
        store: RedisStore,
        *,
        lock: threading.RLock,
        recorder: StatsRecorder,
        letters: DeadLetters,
        clock: Clock,
        owner: str,
        lease: timedelta,
    ) -> None:
        super().__init__(store, lock=lock, recorder=recorder, letters=letters)
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
        self._last_size = 0

    def _lease_end(self) -> int:
        return micros(self.clock.now() + self.lease)

    # ------------------------------------------------------------ writing side

    def written(self, entry: OutboxEntry) -> None:
        """Note an entry this instance flushed (and so holds); tell the listeners."""
        self.held.add(entry.id)
        super().written(entry)

    # ----------------------------------------------------------- delivery side

    def __len__(self) -> int:
        return self.size()

    def size(self) -> int:
        """Return how many flushed messages wait for delivery, across every instance.

        While Redis is unreachable: the last size read (stats and health keep working).
        """
        with contextlib.suppress(StoreError):
            self._last_size = int(
                self.redis.call(self.redis.client.zcard, self.redis.key("outbox"))
            )
        return self._last_size

    def subscribe(self, listener: OutboxListener) -> list[OutboxEntry]:
        """Lease the entries nobody holds and return them; call *listener* with later ones."""
        with self._lock:
            self.add_listener(listener)
            return self._lease_waiting()

    def maintain(self) -> int:
        """Extend this instance's leases; take over entries nobody holds. Return how many.

        Taken-over entries go to the listeners, marked ``state.taken_over`` with the
        previous owner ('' for an entry given back).
        """
        with self._lock:
            if self.held:
                lost = self.redis.run("renew", self.owner, self._lease_end(), *sorted(self.held))
                for entry_id in lost:
                    self._lose(entry_id)
            entries = self._lease_waiting()
            for entry in entries:
                super().written(entry)
            return len(entries)

    def _lease_waiting(self) -> list[OutboxEntry]:
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

    def _lose(self, entry_id: str) -> None:
        if entry_id in self.held:
            self.held.discard(entry_id)
            self.lost += 1

    def update(self, entry: OutboxEntry) -> None:
        """Save progress and extend the lease; LeaseLostError if another instance has it."""
        entry.state.taken_over = None
        with self._lock:
            saved = self._call(
                lambda: self.redis.save_progress(
                    entry, owner=self.owner, lease_until=self._lease_end()
                )
            )
            if saved != 1:
                self._lose(entry.id)
                raise LeaseLostError(
                    f"outbox entry {entry.id} is now delivered by another instance"
                    if saved == -1
                    else f"outbox entry {entry.id} was delivered by another instance"
                )

    def ack(self, outbox_id: str) -> bool:
        """Mark an entry delivered; False if it was not in the outbox."""
        with self._lock:
            self.held.discard(outbox_id)
            return bool(self._call(self.redis.ack, outbox_id))

    def dead_letter(
        self, outbox_id: str, reason: str, error_code: str | None = None
    ) -> DeadLetter | None:
        """Move an undeliverable entry to the dead letters; None if not in the outbox."""
        with self._lock:
            self.held.discard(outbox_id)
            return super().dead_letter(outbox_id, reason, error_code)

    def take(self, channel_id: str | None = None) -> dict[str, list[SlackMessage]]:
        """Acknowledge and return the entries this instance holds (auto-ack mode), by channel."""
        result: dict[str, list[SlackMessage]] = {}
        with self._lock:
            for entry in self.redis.entries(sorted(self.held)):
                if channel_id is not None and entry.channel_id != channel_id:
                    continue
                if self.ack(entry.id):
                    result.setdefault(entry.channel_id, []).append(entry.message)
        return result

    def release(self) -> int:
        """Give every held entry back, for another instance to deliver; return how many."""
        with self._lock:
            if not self.held:
                return 0
            released = int(self.redis.run("release", self.owner, *sorted(self.held)))
            self.held.clear()
            return released
