"""The Redis digest map: a header and a list of items, appended to; older records still read."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from slack_batcher.store.base import DigestRecord
from slack_batcher.store.codec import dump_json
from slack_batcher.store.redis.store import RedisStore
from tests.factories import T0, alert
from tests.redis_server import shared_server
from tests.test_store_digests import record

KEY = "C1\x1falert:api"


@pytest.fixture
def prefix() -> str:
    return f"dg-{uuid.uuid4().hex[:8]}"


def store(prefix: str) -> RedisStore:
    return RedisStore(shared_server().url, prefix=prefix)


def grown(found: DigestRecord | None, *ids: str) -> DigestRecord:
    """Return *found* as a flush of *ids* leaves it (the runtime's ``joined``)."""
    assert found is not None
    return replace(
        found,
        messages=[*found.messages, *(alert(i) for i in ids)],
        entries=[*found.entries, f"e-{ids[0]}"],
        replies=found.replies + 1,
    )


def sent_items(target: RedisStore, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record how many items each digest write sends to Redis."""
    counts: list[int] = []
    run = target.run

    def counting(script: str, *args: object) -> Any:
        if script == "put_digest":
            counts.append(len(args) - 6)  # keys, header, px, expected start, count, items
        return run(script, *args)

    monkeypatch.setattr(target, "run", counting)
    return counts


def test_a_digest_written_whole_by_an_earlier_version_is_read_and_then_rewritten(
    prefix: str,
) -> None:
    old = record()
    first = store(prefix)
    first.client.set(f"{prefix}:d:{KEY}", dump_json(old.to_dict()))  # the earlier layout

    found = store(prefix).get_digest(KEY, T0)
    assert found is not None and found.to_dict() == old.to_dict()

    writer = store(prefix)
    writer.put_digest(grown(writer.get_digest(KEY, T0), "a3"))

    again = store(prefix).get_digest(KEY, T0)
    assert again is not None
    assert [m.id for m in again.messages] == ["a1", "a2", "a3"]
    assert (again.entries, again.replies, again.first_post) == (
        ["b1", "b2", "e-a3"],
        4,
        old.first_post,
    )
    assert first.client.llen(f"{prefix}:di:{KEY}") == 3


def test_a_flush_into_a_digest_sends_only_its_new_items(
    prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = store(prefix)
    counts = sent_items(writer, monkeypatch)
    writer.put_digest(record())
    for n in range(3, 6):
        writer.put_digest(grown(writer.get_digest(KEY, T0), f"a{n}"))

    assert counts == [2, 1, 1, 1]
    found = store(prefix).get_digest(KEY, T0)
    assert found is not None
    assert [m.id for m in found.messages] == ["a1", "a2", "a3", "a4", "a5"]
    assert found.entries == ["b1", "b2", "e-a3", "e-a4", "e-a5"]


def test_instances_sharing_a_digest_see_each_others_items_and_the_last_writer_wins(
    prefix: str,
) -> None:
    one, two = store(prefix), store(prefix)
    one.put_digest(record())
    two.put_digest(grown(two.get_digest(KEY, T0), "b3"))

    seen = one.get_digest(KEY, T0)  # reads the item *two* appended
    assert seen is not None and [m.id for m in seen.messages] == ["a1", "a2", "b3"]

    two.put_digest(grown(two.get_digest(KEY, T0), "b4"))
    one.put_digest(grown(seen, "a4"))  # written without *two*'s last item: it replaces it

    last = store(prefix).get_digest(KEY, T0)
    assert last is not None and [m.id for m in last.messages] == ["a1", "a2", "b3", "a4"]
    assert two.get_digest(KEY, T0) == last


def test_a_replaced_digest_is_read_whole_by_an_instance_that_knew_the_old_one(
    prefix: str,
) -> None:
    one, two = store(prefix), store(prefix)
    one.put_digest(record())
    assert two.get_digest(KEY, T0) is not None
    one.put_digest(record(ts="1772442999.000200", messages=[alert("c1")]))

    found = two.get_digest(KEY, T0)
    assert found is not None
    assert (found.ts, [m.id for m in found.messages]) == ("1772442999.000200", ["c1"])


def test_both_keys_of_a_digest_expire_in_redis_with_it(prefix: str) -> None:
    writer = store(prefix)
    expires = datetime.now(UTC) + timedelta(minutes=10)
    writer.put_digest(record(expires_at=expires))
    writer.put_digest(grown(writer.get_digest(KEY, T0), "a3"))

    header_ms = writer.client.pttl(f"{prefix}:d:{KEY}")
    items_ms = writer.client.pttl(f"{prefix}:di:{KEY}")
    assert 9 * 60_000 < header_ms <= 10 * 60_000
    assert header_ms < items_ms <= header_ms + 61_000

    writer.delete_digest(KEY)
    assert writer.client.exists(f"{prefix}:d:{KEY}", f"{prefix}:di:{KEY}") == 0
