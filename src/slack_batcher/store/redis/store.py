"""RedisStore: batches, the outbox and dead letters in Redis, shared by several processes.

Every ``record_*``, ``ack``, ``update_outbox`` and dead-letter call is **one Lua script**, so
Redis runs it whole or not at all, and it has been applied on the server when the call
returns. How long it survives there is Redis's persistence setting (see ``docs/store.md``):
with ``appendonly yes`` and ``appendfsync everysec`` a Redis restart loses at most the last
second; without persistence it loses everything.

Used through the :class:`~slack_batcher.store.BatchStore` protocol, a RedisStore is the
durable store of one batcher (like SQLite, but on another host). Several service instances
share one RedisStore through :mod:`slack_batcher.store.redis.pending`, which places messages
and claims due batches inside Redis.

Connection failures are retried with exponential backoff (three tries, up to ~1 s) and then
raise :class:`~slack_batcher.model.errors.StoreError`. A retried script whose first run went
through (its reply was lost) does not apply twice: opening and adding check the message id,
placing answers "duplicate", a flush finds its batch gone (its entry then reaches a
deliverer when its lease runs out), an ack finds nothing to remove.
Needs ``pip install 'slack-batcher[redis]'``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ...model.batch import BatchGroup
from ...model.message import BatchableMessage
from ...model.similarity import profile_of
from ..base import DeadLetter, OutboxEntry, StoredState
from ..codec import dump_json, message_body, micros, time_text
from . import codec
from .connect import redacted_url
from .digests import MIN_TTL_MS, RedisDigests
from .mutes import RedisMutes
from .seen import RedisSeen

__all__ = ["RedisStore", "redacted_url"]


class RedisStore(RedisDigests):
    """A :class:`~slack_batcher.store.BatchStore` in Redis.

    ``RedisStore(url, prefix="slack-batcher")`` or ``RedisStore(client=..., prefix=...)``:
    *url* is ``redis://host:port/db`` (``rediss://`` for TLS, ``unix://`` for a socket,
    ``redis+sentinel://host:port[,host:port]/service[/db]`` through Sentinel).
    Keys live under *prefix*; each channel's keys carry the hash tag ``{channel}``. Safe to
    call from several threads (redis-py's pool); the store never blocks other processes.
    Live digests are a header and a list of items (:mod:`~slack_batcher.store.redis.digests`).
    """

    durable = True
    keeps_batches = True
    _mutes: RedisMutes | None = None

    def shared_store(self) -> RedisStore:
        """Return this store: several instances share its batches (see ``pending.py``)."""
        return self

    # ------------------------------------------------------------------ batches

    def load(self) -> StoredState:
        """Return every pending batch (messages in arrival order) and the outbox, oldest first."""
        ids: list[str] = self.call(self.client.zrange, self.key("batches"), 0, -1)
        return StoredState(batches=self.batches(ids), outbox=self.outbox_entries())

    def batches(self, ids: list[str]) -> list[BatchGroup]:
        """Read the pending batches with these ids (missing ones are skipped)."""
        if not ids:
            return []
        where: list[str | None] = self.call(self.client.hmget, self.key("where"), ids)
        pipe = self.client.pipeline(transaction=False)
        found = [(i, c) for i, c in zip(ids, where, strict=True) if c is not None]
        for batch_id, channel in found:
            base = f"{self.prefix}:{{{channel}}}"
            pipe.hgetall(f"{base}:b:{batch_id}")
            pipe.lrange(f"{base}:bm:{batch_id}", 0, -1)
        replies = self.call(pipe.execute)
        result = []
        for n in range(len(found)):
            fields, bodies = replies[2 * n], replies[2 * n + 1]
            if fields:
                result.append(codec.batch_from_hash(fields, bodies))
        return result

    def record_open(self, batch: BatchGroup, message: BatchableMessage) -> None:
        """Persist a new batch together with its first message (one script)."""
        last = time_text(batch.last_activity or batch.created_at)
        self.run(
            "open",
            batch.channel_id,
            batch.id,
            codec.batch_head(batch),
            last,
            micros(batch.due_at),
            codec.partition_text(batch.partition),
            message.id,
            message_body(message),
            codec.profile_text(profile_of(message)),
            message.size_bytes,
        )

    def record_add(self, batch: BatchGroup, message: BatchableMessage) -> None:
        """Persist *message* joining *batch* (one script)."""
        self.run(
            "add",
            batch.channel_id,
            batch.id,
            message.id,
            message_body(message),
            codec.profile_text(profile_of(message)),
            message.size_bytes,
            time_text(batch.last_activity or batch.created_at),
        )

    def record_flush(self, batch: BatchGroup, entry: OutboxEntry | None) -> None:
        """Remove *batch* and add *entry* to the outbox, in one script."""
        self.flush(batch, entry, owner="")

    def flush(
        self,
        batch: BatchGroup,
        entry: OutboxEntry | None,
        *,
        owner: str,
        now: int = 0,
        lease_until: int = 0,
    ) -> int:
        """Like :meth:`record_flush`; with an *owner*, only if it still holds the batch's claim.

        Returns 0 (changing nothing) when the batch is gone or claimed by someone else.
        With an *owner*, the entry goes to the instance delivering the channel: 1 when that
        is *owner* (it holds the channel and the entry until *lease_until*, µs, unless it
        already did), 2 when another instance holds the channel (the entry waits in its
        inbox). Without one (the single-process protocol), 1.
        """
        args: list[object] = [batch.channel_id, batch.id, owner]
        if entry is None:
            args += ["", 0, "{}", 0, 0]
        else:
            head = codec.entry_head(entry)
            args += [head, entry.attempts, dump_json(entry.state.to_dict()), now, lease_until]
        return int(self.run("flush", *args))

    def record_dead_batch(self, batch: BatchGroup, letter: DeadLetter) -> None:
        """Remove *batch* and add *letter* to the dead letters, in one script."""
        self.dead_batch(batch, letter, owner="")

    def dead_batch(self, batch: BatchGroup, letter: DeadLetter, *, owner: str) -> bool:
        """Like :meth:`record_dead_batch`; with an *owner*, only if it holds the claim."""
        return bool(
            self.run(
                "dead_batch",
                batch.channel_id,
                batch.id,
                owner,
                letter.id,
                codec.letter_json(letter),
            )
        )

    # ------------------------------------------------------------------- outbox

    def outbox_entries(self, limit: int | None = None) -> list[OutboxEntry]:
        """Return undelivered outbox entries, oldest first (at most *limit*)."""
        stop = -1 if limit is None else limit - 1
        if limit is not None and limit <= 0:
            return []
        ids: list[str] = self.call(self.client.zrange, self.key("outbox"), 0, stop)
        return self.entries(ids)

    def entries(self, ids: list[str]) -> list[OutboxEntry]:
        """Read the outbox entries with these ids, in that order (missing ones skipped)."""
        return [entry for entry, _ in self.entries_with_owner(ids)]

    def entries_with_owner(self, ids: list[str]) -> list[tuple[OutboxEntry, str]]:
        """Read outbox entries with the instance currently delivering each ('' = none)."""
        if not ids:
            return []
        where: list[str | None] = self.call(self.client.hmget, self.key("where"), ids)
        pipe = self.client.pipeline(transaction=False)
        found = [(i, c) for i, c in zip(ids, where, strict=True) if c is not None]
        for entry_id, channel in found:
            pipe.hgetall(f"{self.prefix}:{{{channel}}}:o:{entry_id}")
        replies = self.call(pipe.execute)
        return [
            (codec.outbox_from_hash(fields), fields.get("owner", ""))
            for fields in replies
            if fields
        ]

    def get_outbox(self, outbox_id: str) -> OutboxEntry | None:
        """Return one undelivered entry, or None."""
        found = self.entries([outbox_id])
        return found[0] if found else None

    def update_outbox(self, entry: OutboxEntry) -> None:
        """Save an entry's attempts, next attempt time, last error and sender state."""
        self.save_progress(entry, owner="", lease_until=0)

    def save_progress(self, entry: OutboxEntry, *, owner: str, lease_until: int) -> int:
        """Save *entry*'s progress; with an *owner*, only while it holds the entry's lease.

        Returns 1 when saved (the lease is extended to *lease_until*), 0 when the entry is
        gone, -1 when another instance holds it.
        """
        next_at = "" if entry.next_attempt_at is None else time_text(entry.next_attempt_at)
        return int(
            self.run(
                "update",
                entry.id,
                entry.attempts,
                next_at,
                entry.last_error or "",
                dump_json(entry.state.to_dict()),
                owner,
                lease_until,
            )
        )

    def ack(self, outbox_id: str) -> bool:
        """Remove a delivered entry from the outbox; False if it was not there."""
        return bool(self.run("ack", outbox_id, ""))

    def dead_letter_outbox(self, outbox_id: str, letter: DeadLetter) -> bool:
        """Move an outbox entry to the dead letters, in one script."""
        return bool(self.run("dead_outbox", outbox_id, letter.id, codec.letter_json(letter)))

    # ------------------------------------------------------------- dead letters

    def dead_letters(self, channel_id: str | None = None) -> list[DeadLetter]:
        """Return dead letters, oldest first, optionally for one channel."""
        ids: list[str] = self.call(self.client.zrange, self.key("dead"), 0, -1)
        letters = self._letters(ids)
        return [d for d in letters if channel_id is None or d.channel_id == channel_id]

    def _letters(self, ids: list[str]) -> list[DeadLetter]:
        if not ids:
            return []
        where: list[str | None] = self.call(self.client.hmget, self.key("where"), ids)
        keys = [
            f"{self.prefix}:{{{c}}}:d:{i}" for i, c in zip(ids, where, strict=True) if c is not None
        ]
        if not keys:
            return []
        bodies: list[str | None] = self.call(self.client.mget, keys)
        return [codec.letter_from_json(body) for body in bodies if body is not None]

    def get_dead_letter(self, letter_id: str) -> DeadLetter | None:
        """Return one dead letter, or None."""
        found = self._letters([letter_id])
        return found[0] if found else None

    def remove_dead_letter(self, letter_id: str) -> DeadLetter | None:
        """Remove and return a dead letter (for replay); None if unknown."""
        body = self.run("remove_letter", letter_id)
        return None if body is None else codec.letter_from_json(body)

    # --------------------------------------------------------------- thread map

    def get_thread(self, thread_key: str, now: datetime) -> str | None:
        """Return the Slack ``ts`` of the first post about *thread_key*, unless expired."""
        value: str | None = self.call(self.client.get, self.key(f"t:{thread_key}"))
        if value is None:
            return None
        ts, _, expires = value.rpartition("|")
        if int(expires) <= micros(now):
            return None
        return ts

    def set_thread(self, thread_key: str, ts: str, expires_at: datetime) -> None:
        """Remember *ts* for *thread_key* until *expires_at* (Redis expires the key then)."""
        expires = micros(expires_at)
        left_ms = (expires - micros(datetime.now(UTC))) // 1000
        self.call(
            self.client.set,
            self.key(f"t:{thread_key}"),
            f"{ts}|{expires}",
            px=left_ms if left_ms > 0 else MIN_TTL_MS,
        )

    def seen_ids(self, size: int, keep: timedelta) -> RedisSeen:
        """Return the source message ids accepted, shared by every instance (``P:seen:<id>``)."""
        return RedisSeen(self, size, keep)

    def mutes(self) -> RedisMutes:
        """Return the mutes and muted events, shared by every instance (``P:mutes``, …)."""
        if self._mutes is None:
            self._mutes = RedisMutes(self)
        return self._mutes
