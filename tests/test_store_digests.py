"""The digest map: every store keeps live digests by key, across a reopen when durable."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slack_batcher import BatchableMessage, SlackMessage, SQLiteStore
from slack_batcher.formatting.digest_summary import format_digest_summary
from slack_batcher.store import BatchStore, codec
from slack_batcher.store.base import DigestRecord
from slack_batcher.store.sqlite import schema as _sqlite_schema
from slack_batcher.store.sqlite.digests import DIGEST_TEXT_CHARS, digest_item_body
from tests.conftest import StoreFactory
from tests.factories import T0, alert
from tests.test_digest_state import items


def record(key: str = "C1\x1falert:api", **changes: object) -> DigestRecord:
    made = DigestRecord(
        key=key,
        channel_id="C1",
        ts="1772442000.000100",
        created_at=T0,
        updated_at=T0 + timedelta(minutes=5),
        expires_at=T0 + timedelta(minutes=35),
        messages=[alert("a1"), alert("a2", name="<!channel> & co")],
        entries=["b1", "b2"],
        replies=3,
        converted=True,
        first_post=SlackMessage(blocks=[], text="2 alerts in api", metadata={"page": 1}),
        by_scope=True,
    )
    for name, value in changes.items():
        setattr(made, name, value)
    return made


def reopen(store_factory: StoreFactory) -> BatchStore:
    return store_factory()


def test_a_digest_is_kept_whole_until_it_expires(store_factory: StoreFactory) -> None:
    store = store_factory()
    store.put_digest(record())

    found = reopen(store_factory).get_digest("C1\x1falert:api", T0 + timedelta(minutes=34))

    assert found is not None
    assert found.to_dict() == record().to_dict()
    assert store.get_digest("C1\x1falert:api", T0 + timedelta(minutes=35)) is None
    # Gone for good once seen expired, even for an earlier "now".
    assert store.get_digest("C1\x1falert:api", T0) is None


def test_putting_a_digest_again_replaces_it_and_deleting_forgets_it(
    store_factory: StoreFactory,
) -> None:
    store = store_factory()
    store.put_digest(record())
    store.put_digest(record(ts="1772442999.000200", replies=4, messages=[alert("a3")]))
    store.put_digest(record(key="C2\x1falert:api"))

    found = store.get_digest("C1\x1falert:api", T0)
    assert found is not None
    assert (found.ts, found.replies, [m.id for m in found.messages]) == (
        "1772442999.000200",
        4,
        ["a3"],
    )
    store.delete_digest("C1\x1falert:api")
    store.delete_digest("C1\x1fnever")
    assert store.get_digest("C1\x1falert:api", T0) is None
    assert store.get_digest("C2\x1falert:api", T0) is not None


def test_changing_a_returned_digest_does_not_change_the_stored_one(
    store_factory: StoreFactory,
) -> None:
    store = store_factory()
    store.put_digest(record())

    found = store.get_digest("C1\x1falert:api", T0)
    assert found is not None
    found.messages.append(alert("a9"))
    found.entries.append("b9")

    again = store.get_digest("C1\x1falert:api", T0)
    assert again is not None
    assert (len(again.messages), again.entries) == (2, ["b1", "b2"])


def test_sqlite_sweeps_the_digests_of_keys_that_fell_silent(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "store.db") as store:
        store.put_digest(record(key="C1\x1fold"))
        later = T0 + timedelta(hours=2)
        store.put_digest(
            record(key="C1\x1fnew", updated_at=later, expires_at=later + timedelta(minutes=30))
        )
    conn = sqlite3.connect(tmp_path / "store.db")
    try:
        assert [row[0] for row in conn.execute("SELECT key FROM digests")] == ["C1\x1fnew"]
    finally:
        conn.close()


def test_sqlite_sweeps_the_items_of_expired_digests_too(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "store.db") as store:
        store.put_digest(record(key="C1\x1fold"))
        later = T0 + timedelta(hours=2)
        store.put_digest(
            record(key="C1\x1fnew", updated_at=later, expires_at=later + timedelta(minutes=30))
        )
    conn = sqlite3.connect(tmp_path / "store.db")
    try:
        keys = {row[0] for row in conn.execute("SELECT key FROM digest_items")}
    finally:
        conn.close()
    assert keys == {"C1\x1fnew"}


def test_a_digest_read_back_grows_and_a_replaced_one_keeps_only_its_items(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    with SQLiteStore(path) as store:
        store.put_digest(record())
    with SQLiteStore(path) as store:
        found = store.get_digest("C1\x1falert:api", T0)
        assert found is not None
        found.messages.append(alert("a3"))
        store.put_digest(found)
        store.put_digest(record(key="C1\x1fother"))
        store.put_digest(record(key="C1\x1fother", messages=[alert("b1")]))
    with SQLiteStore(path) as store:
        grown = store.get_digest("C1\x1falert:api", T0)
        other = store.get_digest("C1\x1fother", T0)
    assert grown is not None and other is not None
    assert [m.id for m in grown.messages] == ["a1", "a2", "a3"]
    assert [m.id for m in other.messages] == ["b1"]


def test_a_version_2_file_keeps_its_live_digests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store.db"
    with monkeypatch.context() as patch:  # a file as version 2 wrote it: the items in the body
        patch.delitem(_sqlite_schema.MIGRATIONS, 3)
        patch.setattr(_sqlite_schema, "SCHEMA_VERSION", 2)
        SQLiteStore(path).close()
    written = record()
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.execute(
                "INSERT INTO digests (key, channel_id, ts, expires_at, body) VALUES (?,?,?,?,?)",
                (written.key, "C1", written.ts, codec.time_text(written.expires_at),
                 codec.dump_json(written.to_dict())),
            )  # fmt: skip
    finally:
        conn.close()
    with SQLiteStore(path) as store:
        assert store.get_digest(written.key, T0) == written


# ------------------------------------------------- long texts (a digest item stays small)


def _lengthened(value: Any, extra: int, filler: str) -> Any:
    if isinstance(value, str):
        return value + filler * extra
    if isinstance(value, dict):
        return {key: _lengthened(item, extra, filler) for key, item in value.items()}
    return value


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _texts(item)]
    if isinstance(value, list):
        return [text for item in value for text in _texts(item)]
    return []


#: Which items get long texts: (item number, the filler added to each text). No filler is
#: all blanks: a text blank for thousands of characters and then not reads otherwise once
#: cut (``value.strip()[:60]`` keeps the blanks, the cut text's strip drops them).
LENGTHENINGS = st.lists(
    st.tuples(st.integers(0, 44), st.sampled_from(["x", "é ", " <!here>", "\n*a*"])), max_size=8
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    items(), LENGTHENINGS, st.sampled_from([DIGEST_TEXT_CHARS - 5, DIGEST_TEXT_CHARS + 7, 50_000])
)
def test_a_digest_keeps_each_text_short_and_its_summary_reads_the_same(
    messages: list[BatchableMessage], lengthenings: list[tuple[int, str]], extra: int
) -> None:
    """(One length per example: two texts that differ only past the cut read as one, as
    the summary shows them.)"""
    # Built here, not drawn: hypothesis would print every 50 KB text of a failing example.
    for number, filler in dict(lengthenings).items():  # once each: texts then differ early
        if number < len(messages):
            data = _lengthened(messages[number].data, extra, filler)
            data["body"] = filler * extra
            messages[number] = replace(messages[number], data=data)

    kept = [codec.message_from_body(digest_item_body(m)) for m in messages]

    assert [m.id for m in kept] == [m.id for m in messages]
    for message in kept:
        assert max(map(len, _texts(message.data)), default=0) <= DIGEST_TEXT_CHARS
    for by_scope in (False, True):
        summary = format_digest_summary(messages, replies=3, by_scope=by_scope, channel="C1")
        again = format_digest_summary(kept, replies=3, by_scope=by_scope, channel="C1")
        assert again.to_dict() == summary.to_dict()


def test_a_digest_of_large_events_stores_a_few_kb_per_item(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    big = [
        replace(alert(f"a{n}"), data={**alert(f"a{n}").data, "body": "x" * 50_000})
        for n in range(40)
    ]
    store = SQLiteStore(path)
    store.put_digest(record(messages=big[:20]))
    store.put_digest(record(messages=big))  # grows: only the 20 new items are written
    store.close()

    with sqlite3.connect(path) as conn:
        stored = conn.execute("SELECT sum(length(body)) FROM digest_items").fetchone()[0]
    assert stored < 40 * (DIGEST_TEXT_CHARS + 1000)  # 50 KB each before
    found = SQLiteStore(path).get_digest("C1\x1falert:api", T0)
    assert found is not None
    assert [m.id for m in found.messages] == [m.id for m in big]
    assert found.messages[0].data["body"] == "x" * DIGEST_TEXT_CHARS
