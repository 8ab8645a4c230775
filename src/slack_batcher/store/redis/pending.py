"""RedisBatches: pending batches in Redis, shared by several instances (the seam's other side).

Every batcher given a RedisBatches over the same :class:`RedisStore` (URL and prefix) sees
one set of batches:

* **Placing** a message is one Lua script (``place``): the dedup check, choosing the open
  batch it joins (the same scores, threshold, partitions and ties as
  :mod:`slack_batcher.core.grouping`, from the rules of :mod:`slack_batcher.model.similarity`)
  or opening one, and the size / urgent / leading trigger. Two instances adding to one
  channel at once therefore never open two batches where one batcher would open one.
  A delivery unit (``add_unit``: one webhook call) is one script too (``place_unit``): its
  messages join one batch per channel and partition, the triggers wait for its last
  message, and each batch a trigger asked for is claimed once, holding the whole delivery.
* **Flushing** starts with a *claim*: the script that finds a batch full, or due
  (``claim_due``, run by every instance's deadline timer — no leader), takes it out of the
  open batches and marks it claimed by this instance for ``claim_seconds``. The instance
  renders it and writes the outbox entry in one script that first checks the claim is still
  its own (:meth:`RedisBatches.settle`); so each batch becomes exactly one outbox entry. If
  the instance dies in between, the claim runs out, the batch is due again and another
  instance flushes it.
* **Delivering** goes through :class:`~.leases.RedisLeases` (one owner per entry), which the
  batcher's outbox asks.

Per-channel rules apply as in the core: size, window (fixed or sliding), threshold,
strategies, urgent priorities and ``flush_leading`` (whose "quiet" memory is in Redis too).
What stays per instance: the batcher's counters (except the pending figures, read from
Redis), channel configurations, and the formatter. Resource controls (``max_channels``,
``memory_budget_bytes``) apply to local batches only. Shutdown flushes nothing: the other
instances (or the next start) flush the shared batches when they are due.

``MessageBatcher(config, store=store, pending=RedisBatches(store, clock=clock))`` builds a
shared batcher; give both the same clock. All instances' clocks should agree (NTP).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Never, Protocol

from ...model.batch import BatchGroup
from ...model.clock import Clock, SystemClock
from ...model.config import BatchConfig
from ...model.errors import StoreError
from ...model.flush import FlushReason, check_channel_id
from ...model.message import BatchableMessage
from ...model.similarity import GroupingRules
from ...model.stats import StatsContributor
from ..base import DeadLetter, OutboxEntry
from ..codec import micros, micros_time
from . import shared_view as view
from .codec import batch_from_hash
from .leases import RedisLeases
from .place import place_arguments
from .store import RedisStore

__all__ = ["RedisBatches", "SharedRules"]

logger = logging.getLogger(__name__)

#: Longest wait between two looks at an unreachable Redis.
_MAX_BACKOFF_SECONDS = 30.0
#: Oldest pending batches the stale sweep looks at per call.
_STALE_BATCH = 200
#: Events placed per pipelined round trip (place_many).
_PIPELINE = 100

#: What placing did: as :data:`slack_batcher.core.pending.Placed`.
_Placed = tuple[str, bool, bool, BatchGroup | None, FlushReason | None]
#: A flush a delivery unit owes: as :data:`slack_batcher.core.units.Owed`.
_Owed = tuple[BatchGroup, FlushReason, int]


class SharedRules(Protocol):
    """What placement reads of a channel's rules (the core's ``ChannelRules``)."""

    @property
    def config(self) -> BatchConfig:
        """The channel's BatchConfig."""
        ...

    @property
    def policy(self) -> GroupingRules:
        """Its strategies and threshold."""
        ...

    @property
    def sliding_cap(self) -> timedelta | None:
        """How long after its opening a sliding window may move, or None (fixed)."""
        ...

    @property
    def enabled(self) -> bool:
        """False when batching is off: every message flushes alone."""
        ...


def _batch_of(row: list[str]) -> BatchGroup:
    _id, _channel, head, last, seq, expires, *bodies = row
    return batch_from_hash({"head": head, "last": last, "seq": seq, "exp": expires}, bodies)


class RedisBatches:
    """Pending batches in a :class:`RedisStore` shared with other instances.

    ``claim_seconds``: how long a claimed batch stays with this instance before another may
    flush it; ``lease_seconds``: how long an outbox entry stays with an instance that
    stopped extending it (it died); ``poll_seconds``: how often the deadline timer looks at
    Redis for batches other instances opened and entries to take over.
    """

    local = False

    def __init__(
        self,
        store: RedisStore,
        *,
        clock: Clock | None = None,
        claim_seconds: float = 30.0,
        lease_seconds: float = 15.0,
        poll_seconds: float = 1.0,
        instance_id: str | None = None,
    ) -> None:
        for name, value in (
            ("claim_seconds", claim_seconds),
            ("lease_seconds", lease_seconds),
            ("poll_seconds", poll_seconds),
        ):
            if not value > 0:
                raise ValueError(f"{name}: must be a positive number of seconds, got {value!r}")
        self.redis = store
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.instance_id = instance_id or (
            f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        )
        self.claim_for = timedelta(seconds=claim_seconds)
        self.poll = timedelta(seconds=poll_seconds)
        #: Who delivers which outbox entry: handed to the batcher's outbox.
        self.leases = RedisLeases(
            store,
            clock=self.clock,
            owner=self.instance_id,
            lease=timedelta(seconds=lease_seconds),
        )
        self._id_head = f"b_{secrets.token_hex(6)}_"
        self._sequence = 0
        # The earliest due time of the batches this instance opened since the deadline timer
        # last looked at Redis (next_due); None: none.
        self._placed_due: datetime | None = None
        # Between begin_unit and end_unit: place_many places one delivery unit.
        self._unit = False
        self._owed: list[_Owed] = []

    def restore(self) -> int:
        """Rebuild nothing: the shared batches stay in Redis. Return 0."""
        return 0

    # ------------------------------------------------------------------ placing

    def _arguments(
        self, message: BatchableMessage, channel_id: str, rules: SharedRules, now: datetime
    ) -> list[object]:
        check_channel_id(channel_id)
        self._sequence += 1
        return place_arguments(
            message,
            channel_id,
            batch_id=self._id_head + str(self._sequence),
            now=now,
            config=rules.config,
            policy=rules.policy,
            sliding_cap=rules.sliding_cap,
            enabled=rules.enabled,
            owner=self.instance_id,
            claim_until=now + self.claim_for,
        )

    def place(
        self, message: BatchableMessage, channel_id: str, rules: SharedRules, now: datetime
    ) -> _Placed:
        """Place *message* in Redis (one script); a batch it filled comes back claimed."""
        reply = self.redis.run("place", *self._arguments(message, channel_id, rules, now))
        return self._placed(reply)

    def place_many(
        self, calls: Sequence[tuple[BatchableMessage, str, SharedRules]], now: datetime
    ) -> tuple[list[_Placed], Exception | None]:
        """Place several events with one round trip per ``_PIPELINE`` of them.

        The scripts run one by one on the server, as separate places would; when Redis
        fails mid-way, events after the last result may be stored too (a resend is then
        answered "duplicate": nothing is lost).
        """
        if self._unit:
            return self._place_unit(calls, now)
        placed: list[_Placed] = []
        for start in range(0, len(calls), _PIPELINE):
            chunk = calls[start : start + _PIPELINE]
            try:
                arguments = [self._arguments(m, c, r, now) for m, c, r in chunk]
                replies = self.redis.run_pipelined("place", arguments)
            except (StoreError, ValueError) as exc:
                return placed, exc
            for reply in replies:
                if isinstance(reply, Exception):
                    return placed, StoreError(f"Redis at {self.redis.url}: {reply}")
                placed.append(self._placed(reply))
        return placed, None

    def _placed(self, reply: list[str]) -> _Placed:
        if reply[0] == "dup":
            return reply[1], True, False, None, None
        if reply[0] == "added":
            opened = reply[2] == "1"
            if opened:
                # Joined batches come due no sooner: the deadline timer knew them (it found
                # them in Redis, or they are in here), or their instance's timer flushes them.
                due = micros_time(reply[3])
                if self._placed_due is None or due < self._placed_due:
                    self._placed_due = due
            return reply[1], False, opened, None, None
        batch = _batch_of(reply[2:])
        return batch.id, False, len(batch.messages) == 1, batch, FlushReason(reply[1])

    def _place_unit(
        self, calls: Sequence[tuple[BatchableMessage, str, SharedRules]], now: datetime
    ) -> tuple[list[_Placed], Exception | None]:
        """Place one delivery's events with one script: atomic, whatever other instances do.

        The batches a trigger asked for come back claimed, each once, whole; they are kept
        for :meth:`end_unit`. When the script fails, nothing placed is reported; events it
        stored before failing are answered "duplicate" on a resend, and their batches come
        due at their window.
        """
        if not calls:
            return [], None
        try:
            arguments = [a for m, c, r in calls for a in self._arguments(m, c, r, now)]
            placed, flushes = self.redis.run(
                "place_unit",
                self.instance_id,
                micros(now + self.claim_for),
                len(calls),
                *arguments,
            )
        except (StoreError, ValueError) as exc:
            return [], exc
        self._owed.extend((_batch_of(row[2:]), FlushReason(row[0]), int(row[1])) for row in flushes)
        return [self._placed(reply) for reply in placed], None

    def begin_unit(self) -> None:
        """Place the next :meth:`place_many` as one delivery unit (one script); return None.

        In each channel its messages join the batch the first joins or opens (same
        partition); no trigger fires until all are placed (see :mod:`slack_batcher.core.units`).
        """
        self._unit = True
        self._owed = []

    def end_unit(self) -> list[_Owed]:
        """Close the unit; return the flushes it owes: (claimed batch, reason, its last index)."""
        owed, self._owed = self._owed, []
        self._unit = False
        return owed

    def configure(self, channel_id: str, rules: SharedRules) -> None:
        """Nothing to re-index: every placement reads the channel's rules."""

    # ----------------------------------------------------------------- claiming

    def _claim_ids(self, ids: list[str], now: datetime) -> list[BatchGroup]:
        if not ids:
            return []
        rows: list[list[str]] = self.redis.run(
            "claim_ids", micros(now), self.instance_id, micros(now + self.claim_for), *ids
        )
        return [_batch_of(row) for row in rows]

    def claim_due(self, now: datetime, limit: int) -> list[BatchGroup]:
        """Claim up to *limit* batches due by *now*, of every instance."""
        rows: list[list[str]] = self.redis.run(
            "claim_due", micros(now), self.instance_id, micros(now + self.claim_for), limit
        )
        return [_batch_of(row) for row in rows]

    def claim(self, batch_ids: Iterable[str], now: datetime) -> list[BatchGroup]:
        """Claim the named batches not being flushed already."""
        return self._claim_ids(list(batch_ids), now)

    def release(self, batches: Iterable[BatchGroup]) -> None:
        """Nothing to do: the claim runs out and the batch is due again."""

    def settle(self, batch: BatchGroup, entry: OutboxEntry | None, now: datetime) -> int:
        """Write the outbox entry of a batch this instance claimed (one script).

        Returns 0 when another instance flushed it meanwhile; 1 when this instance
        delivers the entry; 2 when the instance delivering the channel does.
        """
        lease_until = micros(now + self.leases.lease)
        return self.redis.flush(
            batch, entry, owner=self.instance_id, now=micros(now), lease_until=lease_until
        )

    def discard(self, batch: BatchGroup, letter: DeadLetter) -> bool:
        """Dead-letter a batch this instance claimed; False if another one has it."""
        return self.redis.dead_batch(batch, letter, owner=self.instance_id)

    # ------------------------------------------------------------------ viewing

    def get(self, batch_id: str) -> BatchGroup | None:
        """Return one shared pending batch, or None."""
        found = self.redis.batches([batch_id])
        return found[0] if found else None

    def batch_ids(self, channel_id: str | None = None) -> list[str]:
        """Return the shared pending batch ids (of one channel: its open ones)."""
        if channel_id is None:
            key = self.redis.key("batches")
        else:
            key = f"{self.redis.prefix}:{{{channel_id}}}:open"
        ids: list[str] = self.redis.call(self.redis.client.zrange, key, 0, -1)
        return ids

    def oldest_id(self) -> str | None:
        """Return the id of the shared batch opened first, or None."""
        ids = self.redis.call(self.redis.client.zrange, self.redis.key("batches"), 0, 0)
        return ids[0] if ids else None

    def stale_ids(self, cutoff: datetime) -> list[str]:
        """Return ids of the oldest pending batches (at most 200) opened by *cutoff*."""
        key = self.redis.key("batches")
        oldest = self.redis.batches(
            self.redis.call(self.redis.client.zrange, key, 0, _STALE_BATCH - 1)
        )
        return [b.id for b in oldest if b.created_at <= cutoff]

    def view(self, channel_id: str | None = None) -> dict[str, list[BatchGroup]]:
        """Read every pending batch (of one channel: its open ones), by channel."""
        found: dict[str, list[BatchGroup]] = {}
        for batch in sorted(
            self.redis.batches(self.batch_ids(channel_id)), key=lambda b: b.created_at
        ):
            found.setdefault(batch.channel_id, []).append(batch)
        return found

    def next_due(self, now: datetime) -> datetime | None:
        """Return the next shared due time, but at most ``poll_seconds`` from *now*.

        The deadline timer thus looks at Redis regularly: batches opened by other
        instances, and outbox entries to take over. Never raises. While Redis is down the
        wait doubles with each failed look, up to 30 s (reconnecting with backoff).
        """
        self._placed_due = None  # this look sees them (or the timer looks again soon)
        failures = self.leases.failures
        if failures:
            backoff = self.poll.total_seconds() * 2 ** min(failures, 16)
            return now + timedelta(seconds=min(backoff, _MAX_BACKOFF_SECONDS))
        poll = now + self.poll
        try:
            due = view.earliest_due(self.redis)
        except StoreError:
            return poll
        return poll if due is None else min(due, poll)

    def placed_due(self) -> datetime | None:
        """Return the earliest due time of batches this instance opened since :meth:`next_due`.

        Known from the placing script's replies, without asking Redis: what a submit needs
        to know whether the deadline timer must wake sooner (batches other instances place
        are flushed by their own timers, or found by this one within ``poll_seconds``).
        """
        return self._placed_due

    def channels(self) -> dict[str, Never]:
        """Return no channel: their activity is counted per message by the batcher."""
        return {}

    def channel_count(self) -> int:
        """Return how many channels have shared pending batches (0 while Redis is down)."""
        with contextlib.suppress(StoreError):
            return view.pending_counts(self.redis)["active_channels"]
        return 0

    def least_active_channel(self) -> None:
        """Return None: resource controls apply to local batches only."""
        return None

    def due_times(self) -> list[datetime]:
        """Return the earliest shared due time (none while Redis is down)."""
        with contextlib.suppress(StoreError):
            due = view.earliest_due(self.redis)
            return [] if due is None else [due]
        return []

    def figures(self) -> dict[str, Any]:
        """Return ``store`` (Redis and this instance) and the shared pending figures."""
        figures: dict[str, Any] = {"store": f"{self.redis.describe()}, instance {self.instance_id}"}
        with contextlib.suppress(StoreError):
            figures.update(view.pending_counts(self.redis))
        return figures

    def contributors(self) -> list[StatsContributor]:
        """Return the ``shared`` stats section and the ``store_reachable`` health check."""
        return [view.SharedFigures(self.redis, self.shared_stats)]

    def shared_stats(self) -> dict[str, Any]:
        """Say whether Redis answers and what this instance holds of the delivery work."""
        return {
            "instance": self.instance_id,
            "reachable": self.redis.ping(),
            "leases_held": len(self.leases.held),
            "taken_over": self.leases.taken_over,
            "lost": self.leases.lost,
        }

    def close(self) -> None:
        """Give held outbox entries back to the other instances (the store stays open)."""
        try:
            released = self.leases.release()
            if released:
                logger.info("gave %d undelivered posts back to the other instances", released)
        except StoreError as exc:
            logger.warning(
                "could not give undelivered posts back (%s): they wait out their lease", exc
            )
