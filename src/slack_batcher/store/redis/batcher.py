"""SharedBatcher: a MessageBatcher whose batches live in Redis, shared by several instances.

Every instance given the same :class:`RedisStore` (URL and prefix) sees one set of batches:

* **Placing** a message is one Lua script (``place``): the dedup check, choosing the open
  batch it joins (the same scores, threshold, partitions and ties as ``grouping.py``) or
  opening one, and the size / urgent trigger. Two instances adding to one channel at once
  therefore never open two batches where one batcher would open one.
* **Flushing** starts with a *claim*: the script that finds a batch full, or due
  (``claim_due``, run by every instance's deadline timer — no leader), takes it out of the
  open batches and marks it claimed by this instance for ``claim_seconds``. The instance
  renders it and writes the outbox entry in one script that first checks the claim is still
  its own; so each batch becomes exactly one outbox entry. If the instance dies in between,
  the claim runs out, the batch is due again and another instance flushes it.
* **Delivering** goes through :class:`~.redis_outbox.LeasedOutbox` (one owner per entry).

Per-channel rules (``configure_channel``) apply as in the core: size, window (fixed or
sliding), threshold, strategies, urgent priorities and ``flush_leading`` (whose "quiet"
memory is in Redis too, shared).

What stays per instance: the counters of ``get_batch_stats`` (except the pending figures,
read from Redis), channel configurations, and the formatter. Resource controls
(``max_channels``, ``memory_budget_bytes``) apply to local batchers only: here Redis holds
the batches. :meth:`shutdown` flushes nothing: the other instances (or the
next start) flush the shared batches when they are due.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Iterable
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, cast

from ...core.batcher import MessageBatcher
from ...core.flush import AddResult, FlushReason
from ...core.inspection import describe_pending
from ...formatting.factory import SlackMessageFormatterFactory
from ...formatting.message import SlackMessage
from ...model.batch import BatchGroup
from ...model.clock import Clock
from ...model.config import BatchConfig
from ...model.errors import InvalidMessageError, StoreError
from ...model.message import BatchableMessage
from ..base import BatchStore, StoredState
from ..codec import micros, micros_time
from . import shared_view as view
from .codec import batch_from_hash
from .outbox import LeasedOutbox
from .place import place_arguments
from .store import RedisStore

__all__ = ["SharedBatcher"]

logger = logging.getLogger(__name__)

#: Longest wait between two looks at an unreachable Redis.
_MAX_BACKOFF_SECONDS = 30.0
#: Oldest pending batches the stale sweep looks at per call.
_STALE_BATCH = 200
#: Events placed per pipelined round trip (add_many).
_PIPELINE = 100
#: Due batches claimed per script call.
_CLAIM_BATCH = 100


class _NothingToRecover:
    """The shared store as the base batcher sees it: no local recovery, no batch records."""

    durable = True
    keeps_batches = False

    def __init__(self, store: RedisStore) -> None:
        self._store = store

    def load(self) -> StoredState:
        return StoredState()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def _batch_of(row: list[str]) -> BatchGroup:
    _id, _channel, head, last, seq, expires, *bodies = row
    return batch_from_hash({"head": head, "last": last, "seq": seq, "exp": expires}, bodies)


class SharedBatcher(MessageBatcher):
    """Channel-aware batching over a :class:`RedisStore` shared with other instances.

    ``SharedBatcher(config, formatter_factory, store=, clock=, auto_ack=, claim_seconds=30,
    lease_seconds=15, poll_seconds=1, instance_id=None)``. ``lease_seconds`` is how long an
    outbox entry stays with an instance that stopped extending it (it died);
    ``poll_seconds`` how often the deadline timer looks at Redis for batches other
    instances opened and entries to take over. All instances' clocks should agree (NTP).
    """

    def __init__(
        self,
        config: BatchConfig | None = None,
        formatter_factory: SlackMessageFormatterFactory | None = None,
        *,
        store: RedisStore,
        clock: Clock | None = None,
        auto_ack: bool = True,
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
        unloaded = cast(BatchStore, _NothingToRecover(store))
        super().__init__(config, formatter_factory, clock=clock, store=unloaded, auto_ack=auto_ack)
        self.redis = store
        self.instance_id = instance_id or (
            f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        )
        self.claim = timedelta(seconds=claim_seconds)
        self.poll = timedelta(seconds=poll_seconds)
        self.outbox: LeasedOutbox = LeasedOutbox(
            store,
            lock=self._lock,
            recorder=self.recorder,
            letters=self.letters,
            clock=self.clock,
            owner=self.instance_id,
            lease=timedelta(seconds=lease_seconds),
        )
        #: Failed looks at Redis in a row: the deadline timer backs off while Redis is down.
        self.failures = 0
        # The earliest due time of the batches this instance opened since the deadline timer
        # last looked at Redis (next_due_at); None: none.
        self._placed_due: datetime | None = None
        self.add_stats_contributor(view.SharedFigures(self.redis, self.shared_stats))

    # ------------------------------------------------------------------ adding

    def _add(self, message: BatchableMessage, channel_id: str, returned: bool) -> AddResult:
        """Place *message* in Redis (one script); flush the batch if that filled it."""
        self.check_message(message, channel_id)
        with self._lock:
            now = self.clock.now()
            try:
                args = self._place_arguments(message, channel_id, now)
                reply = self._store_call(self.redis.run, "place", *args)
            except BaseException:
                self._stats.messages_unplaced += 1  # received, but neither placed nor a duplicate
                raise
            return self._placed(reply, message, channel_id, now, returned)

    def _place(
        self, message: BatchableMessage, channel_id: str, returned: bool
    ) -> tuple[str, bool, SlackMessage | None, FlushReason | None]:
        """Place *message* through :meth:`_add` (``add_message`` and replays come here)."""
        result = self._add(message, channel_id, returned)
        return result.batch_id, result.duplicate, result.flushed, result.flush_reason

    def add_many(
        self, events: Iterable[tuple[BatchableMessage, str]]
    ) -> tuple[list[AddResult], Exception | None]:
        """Place several events with one round trip per ``_PIPELINE`` of them.

        Returns the results in order and the error that stopped the rest (an invalid event,
        or Redis failing), or None. The scripts run one by one on the server, as separate
        adds would; when Redis fails mid-way, events after the last result may be stored
        too (a resend is then answered "duplicate": nothing is lost).
        """
        results: list[AddResult] = []
        pending = list(events)
        for start in range(0, len(pending), _PIPELINE):
            chunk = pending[start : start + _PIPELINE]
            error: Exception | None = None
            for index, (message, channel_id) in enumerate(chunk):
                try:
                    self.check_message(message, channel_id)
                except InvalidMessageError as exc:
                    chunk, error = chunk[:index], exc
                    break
            with self._lock:
                now = self.clock.now()
                calls = [(m, c, self._place_arguments(m, c, now)) for m, c in chunk]
                try:
                    replies = self._store_call(
                        self.redis.run_pipelined, "place", [args for _, _, args in calls]
                    )
                except StoreError as exc:
                    return results, exc
                for (message, channel_id, _), reply in zip(calls, replies, strict=True):
                    if isinstance(reply, Exception):
                        return results, StoreError(f"Redis at {self.redis.url}: {reply}")
                    results.append(self._placed(reply, message, channel_id, now, True))
            if error is not None:
                return results, error
        return results, None

    def _place_arguments(
        self, message: BatchableMessage, channel_id: str, now: datetime
    ) -> list[object]:
        rules = self._rules_for(channel_id)
        self._sequence += 1
        return place_arguments(
            message,
            channel_id,
            batch_id=f"b_{self._id_prefix}_{self._sequence}",
            now=now,
            config=rules.config,
            policy=rules.policy,
            sliding_cap=rules.sliding_cap,
            enabled=self._enabled,
            owner=self.instance_id,
            claim_until=now + self.claim,
        )

    def _placed(
        self,
        reply: list[str],
        message: BatchableMessage,
        channel_id: str,
        now: datetime,
        returned: bool,
    ) -> AddResult:
        """Count what the ``place`` script did, and flush the batch it claimed, if any."""
        stats = self._stats
        if reply[0] == "dup":
            self.recorder.duplicate(channel_id)
            return AddResult(reply[1], True)
        stats.messages_batched += 1
        stats.messages_by_type[message.content_type] += 1
        channel = self.recorder.channel(channel_id)
        channel.messages_batched += 1
        channel.last_activity = now
        if reply[0] == "added":
            if reply[2] == "1":
                stats.batches_created += 1
                channel.batches_created += 1
                # Joined batches come due no sooner: the deadline timer knew them (it found
                # them in Redis, or they are in here), or their instance's timer flushes them.
                due = micros_time(reply[3])
                if self._placed_due is None or due < self._placed_due:
                    self._placed_due = due
            return AddResult(reply[1])
        reason = FlushReason(reply[1])
        batch = _batch_of(reply[2:])
        if len(batch.messages) == 1:
            stats.batches_created += 1
            channel.batches_created += 1
        return AddResult(batch.id, False, self._flush_claimed(batch, reason, returned), reason)

    # ---------------------------------------------------------------- flushing

    def _flush_claimed(
        self, batch: BatchGroup, reason: FlushReason, returned: bool
    ) -> SlackMessage | None:
        """Render a batch this instance claimed and write its outbox entry.

        Returns None when rendering failed (the claim runs out and the batch is due again)
        or another instance flushed it meanwhile.
        """
        try:
            message = self._render(batch)
        except Exception as exc:
            logger.error("could not render batch %s (%s): %s", batch.id, reason, exc)
            return None
        now = self.clock.now()
        entry = self._outbox_entry(batch, message, reason, now, returned=returned)
        lease_until = micros(now + self.outbox.lease)
        written = self._store_call(
            lambda: self.redis.flush(
                batch, entry, owner=self.instance_id, now=micros(now), lease_until=lease_until
            )
        )
        if not written:
            logger.info("batch %s was flushed by another instance", batch.id)
            return None
        if entry is not None and written == 1:  # 2: the channel's deliverer takes it
            self.outbox.written(entry)
        self.recorder.flushed(batch, reason, max((now - batch.created_at).total_seconds(), 0.0))
        return message

    def _flush_rows(
        self, rows: list[list[str]], reason: FlushReason, returned: bool
    ) -> dict[str, list[SlackMessage]]:
        result: dict[str, list[SlackMessage]] = {}
        for row in rows:
            batch = _batch_of(row)
            message = self._flush_claimed(batch, reason, returned)
            if message is not None:
                result.setdefault(batch.channel_id, []).append(message)
        return result

    def _claim_ids(self, ids: list[str]) -> list[list[str]]:
        if not ids:
            return []
        now = self.clock.now()
        rows: list[list[str]] = self._store_call(
            self.redis.run,
            "claim_ids",
            micros(now),
            self.instance_id,
            micros(now + self.claim),
            *ids,
        )
        return rows

    def flush_expired_batches(self) -> dict[str, list[SlackMessage]]:
        """Claim and flush every due batch of every instance; return the messages by channel.

        Also extends this instance's delivery leases and takes over outbox entries whose
        owner stopped extending them (:meth:`LeasedOutbox.maintain`).
        """
        with self._lock:
            try:
                self.outbox.maintain()
            except StoreError:
                self.failures += 1
                raise
            self.failures = 0
            result: dict[str, list[SlackMessage]] = {}
            while True:
                now = self.clock.now()
                rows: list[list[str]] = self._store_call(
                    self.redis.run,
                    "claim_due",
                    micros(now),
                    self.instance_id,
                    micros(now + self.claim),
                    _CLAIM_BATCH,
                )
                for cid, messages in self._flush_rows(rows, FlushReason.WINDOW, True).items():
                    result.setdefault(cid, []).extend(messages)
                if len(rows) < _CLAIM_BATCH:
                    return self._hand_over(result)

    def flush_all_batches(self) -> dict[str, list[SlackMessage]]:
        """Flush every shared batch not being flushed already; return the messages by channel."""
        with self._lock:
            ids = self.redis.call(self.redis.client.zrange, self.redis.key("batches"), 0, -1)
            rows = self._claim_ids(ids)
            return self._hand_over(self._flush_rows(rows, FlushReason.MANUAL, True))

    def flush_channel_batches(self, channel_id: str) -> list[SlackMessage]:
        """Flush *channel_id*'s open batches; return its messages in opening order."""
        with self._lock:
            key = f"{self.redis.prefix}:{{{channel_id}}}:open"
            rows = self._claim_ids(self.redis.call(self.redis.client.zrange, key, 0, -1))
            result = self._flush_rows(rows, FlushReason.MANUAL, True)
            return self._hand_over(result, channel_id).get(channel_id, [])

    def force_flush_batch(self, batch_id: str) -> SlackMessage | None:
        """Flush one shared batch now; None if no claimable batch has that id."""
        with self._lock:
            rows = self._claim_ids([batch_id])
            messages = self._flush_rows(rows, FlushReason.MANUAL, True)
            return next((m for ms in messages.values() for m in ms), None)

    def flush_early(self, batch_ids: list[str], reason: FlushReason) -> int:
        """Flush the named shared batches on a side path (into the outbox)."""
        with self._lock:
            flushed = self._flush_rows(self._claim_ids(batch_ids), reason, False)
            return sum(len(v) for v in flushed.values())

    def shutdown(self) -> dict[str, list[SlackMessage]]:
        """Flush nothing: shared batches stay for the other instances (or the next start)."""
        return {}

    def cleanup_stale_batches(self, max_age_hours: float = 24) -> int:
        """Dead-letter shared batches pending longer than *max_age_hours*; return how many.

        Looks at the oldest pending batches (at most ``_STALE_BATCH`` per call) and claims
        the stale ones, so one instance dead-letters each. A batch only gets this old when
        it cannot be rendered (its claim keeps running out) or no instance is running.
        """
        with self._lock:
            now = self.clock.now()
            cutoff = now - timedelta(hours=max_age_hours)
            key = self.redis.key("batches")
            oldest = self.redis.batches(
                self.redis.call(self.redis.client.zrange, key, 0, _STALE_BATCH - 1)
            )
            rows = self._claim_ids([b.id for b in oldest if b.created_at <= cutoff])
            count = 0
            for row in rows:
                batch = _batch_of(row)
                letter = self._stale_letter(batch, now, max_age_hours)
                if self._store_call(
                    lambda b=batch, d=letter: self.redis.dead_batch(b, d, owner=self.instance_id)
                ):
                    self.recorder.dead_lettered(letter)
                    count += 1
            if count:
                logger.warning("dead-lettered %d stale batches", count)
            return count

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Give held outbox entries back to the other instances, then close the store."""
        with self._lock:
            try:
                released = self.outbox.release()
                if released:
                    logger.info("gave %d undelivered posts back to the other instances", released)
            except StoreError as exc:
                logger.warning(
                    "could not give undelivered posts back (%s): they wait out their lease", exc
                )
            self.redis.close()

    def next_due_at(self) -> datetime | None:
        """Return the next shared due time, but at most ``poll_seconds`` from now.

        The deadline timer thus looks at Redis regularly: batches opened by other
        instances, and outbox entries to take over. Never raises. While Redis is down the
        wait doubles with each failed look, up to 30 s (reconnecting with backoff).
        """
        self._placed_due = None  # this look sees them (or the timer looks again soon)
        if self.failures:
            backoff = self.poll.total_seconds() * 2 ** min(self.failures, 16)
            return self.clock.now() + timedelta(seconds=min(backoff, _MAX_BACKOFF_SECONDS))
        poll = self.clock.now() + self.poll
        try:
            due = view.earliest_due(self.redis)
        except StoreError:
            return poll
        return poll if due is None else min(due, poll)

    def placed_due_at(self) -> datetime | None:
        """Return the earliest due time of batches this instance opened since :meth:`next_due_at`.

        Known from the placing script's replies, without asking Redis: what a submit needs
        to know whether the deadline timer must wake sooner (batches other instances place
        are flushed by their own timers, or found by this one within ``poll_seconds``).
        """
        return self._placed_due

    # ---------------------------------------------------------- observability

    def preview_batch(self, batch_id: str) -> SlackMessage | None:
        """Render a shared pending batch as it would be posted now; None if unknown."""
        found = self.redis.batches([batch_id])
        with self._lock:
            return self._render(found[0], preview=True) if found else None

    def inspect_pending_batches(self, channel_id: str | None = None) -> dict[str, Any]:
        """Describe the shared pending batches (of every instance), sending nothing."""
        queues = view.pending_queues(self.redis, channel_id)
        with self._lock:
            return describe_pending(
                queues,
                self.clock.now(),
                channel_id=channel_id,
                priority_ordering={},
                default_ordering=self.config.priority_ordering,
            )

    def get_batch_stats(self) -> dict[str, Any]:
        """Return this instance's counters with the shared pending figures from Redis.

        ``store`` names the store; ``shared`` says whether Redis answers and what this
        instance holds of the delivery work.
        """
        stats = super().get_batch_stats()
        stats["store"] = f"{self.redis.describe()}, instance {self.instance_id}"
        with contextlib.suppress(StoreError):
            stats.update(view.pending_counts(self.redis))
        return stats

    def get_health_status(self) -> dict[str, Any]:
        """Return the health status over the shared batches (with a ``store_reachable`` check)."""
        due_times: list[datetime] = []
        channels = 0
        with contextlib.suppress(StoreError):
            due = view.earliest_due(self.redis)
            due_times = [] if due is None else [due]
            channels = view.pending_counts(self.redis)["active_channels"]
        with self._lock:
            return self.recorder.health(
                now=self.clock.now(),
                due_times=due_times,
                channel_count=channels,
                outbox_size=self.outbox.size(),
            )

    def shared_stats(self) -> dict[str, Any]:
        """Say whether Redis answers and what this instance holds of the delivery work."""
        return {
            "instance": self.instance_id,
            "reachable": self.redis.ping(),
            "leases_held": len(self.outbox.held),
            "taken_over": self.outbox.taken_over,
            "lost": self.outbox.lost,
        }
