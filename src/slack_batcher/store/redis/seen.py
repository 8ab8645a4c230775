"""The Redis store's accepted source message ids, shared by every instance on the server.

One key per id, ``P:seen:<id>``, with a TTL. :meth:`RedisSeen.claim` is ``SET … NX EX``:
of several instances receiving the same redelivery at once, exactly one gets ``new``; the
key then holds a claim (``c:<token>``) for :data:`CLAIM_SECONDS`, which :meth:`confirm`
replaces with ``a`` for *keep*, and :meth:`release` deletes (only while it is still this
claim). Others see a claimed id as ``busy`` until then. A crash between claim and confirm
leaves a claim that expires: the id is never taken as seen unless it was confirmed.

Bounded by age only (the TTL); *size* 0 turns remembering off. Each id costs ~100 bytes of
Redis memory: at 10,000 deliveries a day, seven days keep ~7 MB.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .connect import RedisConnection

__all__ = ["CLAIM_SECONDS", "RedisSeen"]

#: How long a claim holds an id while its messages are stored (longer than a store call with
#: its retries); a crashed claimer's ids are free again after it.
CLAIM_SECONDS = 30
_ACCEPTED = "a"
# Delete the key only while it still holds this claim (not another instance's, not accepted).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisSeen:
    """Accepted ids in Redis, one key per id with a TTL of *keep* (at least one second)."""

    def __init__(self, connection: RedisConnection, size: int, keep: timedelta) -> None:
        self.connection = connection
        self.size = size
        self.keep_seconds = max(1, int(keep.total_seconds()))
        self._release = connection.client.register_script(_RELEASE)
        # Each claim call's token: a retried SET NX whose first reply was lost finds its own.
        self._claims: dict[str, str] = {}

    def _key(self, message_id: str) -> str:
        return self.connection.key(f"seen:{message_id}")

    def claim(self, ids: Sequence[str], now: datetime) -> dict[str, str]:
        """Claim the ids no instance accepted or claimed: ``new``; else ``seen`` or ``busy``."""
        unique = list(dict.fromkeys(ids))
        if self.size <= 0 or not unique:
            return dict.fromkeys(ids, "new")
        value = f"c:{secrets.token_hex(8)}"
        connection = self.connection
        pipe = connection.client.pipeline(transaction=False)
        for message_id in unique:
            pipe.set(self._key(message_id), value, nx=True, ex=CLAIM_SECONDS)
        replies: list[Any] = connection.call(pipe.execute)
        taken = [i for i, ok in zip(unique, replies, strict=True) if not ok]
        held: list[str | bytes | None] = []
        if taken:
            held = connection.call(connection.client.mget, [self._key(i) for i in taken])
        answer = {i: "new" for i, ok in zip(unique, replies, strict=True) if ok}
        for message_id, raw in zip(taken, held, strict=True):
            found = raw.decode() if isinstance(raw, bytes) else raw
            # Gone meanwhile (released or expired): busy, the caller asks again later.
            if found == value:
                answer[message_id] = "new"
            else:
                answer[message_id] = "seen" if found == _ACCEPTED else "busy"
        for message_id, state in answer.items():
            if state == "new":
                self._claims[message_id] = value
        return {i: answer[i] for i in ids}

    def confirm(self, ids: Sequence[str], now: datetime) -> None:
        """Mark *ids* accepted for *keep* (replacing their claims)."""
        if self.size <= 0 or not ids:
            return
        pipe = self.connection.client.pipeline(transaction=False)
        for message_id in dict.fromkeys(ids):
            self._claims.pop(message_id, None)
            pipe.set(self._key(message_id), _ACCEPTED, ex=self.keep_seconds)
        self.connection.call(pipe.execute)

    def release(self, ids: Sequence[str]) -> None:
        """Delete this process's claims on *ids*; an accepted id or another's claim stays."""
        if self.size <= 0 or not ids:
            return
        pipe = self.connection.client.pipeline(transaction=False)
        for message_id in dict.fromkeys(ids):
            value = self._claims.pop(message_id, None)
            if value is not None:
                self._release(keys=[self._key(message_id)], args=[value], client=pipe)
        self.connection.call(pipe.execute)
