"""The Redis store's live-digest map: a small header key and a list of items per digest.

:class:`RedisDigests` is the part of :class:`~slack_batcher.store.RedisStore` that keeps
live digests. A digest's fields are one JSON header (``P:d:<key>``) and its items a Redis
list (``P:di:<key>``), so a flush into a digest of 1,000 items sends and reads only its
new items, not the whole record:

* A write whose record starts with the items this process last wrote or read appends the
  rest (``RPUSH``) and replaces the header, in one script that first checks the items are
  still those (the header's generation and the list's length); otherwise it replaces the
  items under a new generation. Several instances may write one key: the last writer wins.
* A read fetches the header and the items after those already known for this generation,
  in one ``MULTI``/``EXEC`` round trip.

Both keys expire with the digest (the items a minute later). A header without ``gen`` is a
whole record as earlier versions wrote it: read as it is, and rewritten in this layout by
the next write.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ...model.errors import StoreCorruptError
from ...model.message import BatchableMessage
from ..base import DigestRecord
from ..codec import dump_json, join_bodies, message_body, micros
from .connect import RedisConnection

if TYPE_CHECKING:
    import redis

__all__ = ["DIGESTS_CACHED", "MIN_TTL_MS", "RedisDigests"]

#: Redis-side expiry of a key whose expiry is already past by the wall clock (the caller
#: runs a simulated clock); reads compare with the caller's time anyway.
MIN_TTL_MS = 24 * 3600 * 1000

#: Digests whose items this process remembers (the most recently used; ~1,000 items each).
DIGESTS_CACHED = 256


class RedisDigests(RedisConnection):
    """The digest map of a Redis store (see the module docstring)."""

    def __init__(
        self,
        url: str | None = None,
        *,
        prefix: str = "slack-batcher",
        client: redis.Redis | None = None,
    ) -> None:
        super().__init__(url, prefix=prefix, client=client)
        # Digest key → (generation, its items as stored in Redis under it). Within one
        # generation the stored list only grows, so these are a prefix of what is there.
        self._digest_items: dict[str, tuple[str, list[BatchableMessage]]] = {}
        self._digest_lock = threading.Lock()

    # ------------------------------------------------------------------ cache

    def _known(self, key: str) -> tuple[str, list[BatchableMessage]] | None:
        with self._digest_lock:
            found = self._digest_items.pop(key, None)
            if found is not None:
                self._digest_items[key] = found  # the most recently used go last
            return found

    def _remember(self, key: str, gen: str, items: list[BatchableMessage]) -> None:
        with self._digest_lock:
            cache = self._digest_items
            cache.pop(key, None)
            cache[key] = (gen, items)
            while len(cache) > DIGESTS_CACHED:
                del cache[next(iter(cache))]

    def _forget_items(self, key: str) -> None:
        with self._digest_lock:
            self._digest_items.pop(key, None)

    # ---------------------------------------------------------------- digests

    def get_digest(self, key: str, now: datetime) -> DigestRecord | None:
        """Return the live digest of *key* (header ``P:d:<key>``), unless expired."""
        known = self._known(key)
        record = self._read_digest(key, now, known)
        if record is None:
            return None
        return replace(record, messages=list(record.messages), entries=list(record.entries))

    def _read_digest(
        self, key: str, now: datetime, known: tuple[str, list[BatchableMessage]] | None
    ) -> DigestRecord | None:
        start = 0 if known is None else len(known[1])
        pipe = self.client.pipeline(transaction=True)
        pipe.get(self.key(f"d:{key}"))
        pipe.lrange(self.key(f"di:{key}"), start, -1)
        text, tail = self.call(pipe.execute)
        if text is None:
            self._forget_items(key)
            return None
        try:
            raw: dict[str, Any] = json.loads(text)
            gen, count = raw.pop("gen", None), raw.pop("n", 0)
            record = DigestRecord.from_dict(raw)
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreCorruptError(f"Redis at {self.url}: digest {key!r}: {exc}") from exc
        if record.expires_at <= now:
            self.delete_digest(key)
            return None
        if gen is None:  # a whole record, as earlier versions wrote it
            self._forget_items(key)
            return record
        if known is not None and known[0] != gen:  # replaced since: read all its items
            return self._read_digest(key, now, None)
        try:
            added = [BatchableMessage.from_dict(item) for item in json.loads(join_bodies(tail))]
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreCorruptError(f"Redis at {self.url}: digest {key!r}: {exc}") from exc
        items = added if known is None else [*known[1], *added]
        if len(items) != count:
            if known is not None:
                return self._read_digest(key, now, None)
            raise StoreCorruptError(
                f"Redis at {self.url}: digest {key!r} names {count} items, {len(items)} stored"
            )
        self._remember(key, gen, items)
        record.messages = items
        return record

    def put_digest(self, record: DigestRecord) -> None:
        """Replace the digest of ``record.key`` (last writer wins); Redis expires it after.

        A digest only grows: when the items this process last stored or read are the start
        of ``record.messages`` and are still those in Redis, only the rest is sent.
        """
        key, messages = record.key, record.messages
        head = replace(record, messages=[]).to_dict()
        del head["messages"]
        fields = dump_json(head)[1:]  # '"key":…}': the header's fields after gen and n
        left_ms = (micros(record.expires_at) - micros(datetime.now(UTC))) // 1000
        px = left_ms if left_ms > 0 else MIN_TTL_MS
        names = (self.key(f"d:{key}"), self.key(f"di:{key}"))
        known = self._known(key)
        try:
            if known is not None:
                gen, stored = known
                if messages[: len(stored)] == stored:  # the same objects compare at C speed
                    expect = f'{{"gen":"{gen}",'
                    header = f'{expect}"n":{len(messages)},{fields}'
                    bodies = [message_body(m) for m in messages[len(stored) :]]
                    if self.run("put_digest", *names, header, px, expect, len(stored), *bodies):
                        self._remember(key, gen, list(messages))
                        return
            gen = secrets.token_hex(8)
            header = f'{{"gen":"{gen}","n":{len(messages)},{fields}'
            bodies = [message_body(m) for m in messages]
            self.run("put_digest", *names, header, px, "", 0, *bodies)
        except BaseException:
            self._forget_items(key)
            raise
        self._remember(key, gen, list(messages))

    def delete_digest(self, key: str) -> None:
        """Forget the digest of *key*."""
        self._forget_items(key)
        self.call(self.client.delete, self.key(f"d:{key}"), self.key(f"di:{key}"))
