"""SQLiteStore specifics: bad files, schema versions, the process lock, group commit, threads."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from slack_batcher import SchemaVersionError, SQLiteStore, StoreCorruptError, StoreError
from slack_batcher.store.sqlite import schema as _sqlite_schema
from tests.factories import pr
from tests.test_store_contract import new_batch, open_with


def filled_store(path: Path, batches: int = 30) -> None:
    with SQLiteStore(path) as store:
        for n in range(batches):
            open_with(store, new_batch(f"b{n}"), pr(f"gh-{n}", title="x" * 500))


@contextmanager
def unwritable(path: Path) -> Iterator[None]:
    """Take write permission away from *path*; root ignores modes, so make it immutable."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    subprocess.run(["chattr", "+i", str(path)], check=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_a_new_file_is_created_in_wal_mode_with_the_current_schema(tmp_path: Path) -> None:
    path = tmp_path / "data" / "store.db"
    SQLiteStore(path).close()

    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == _sqlite_schema.SCHEMA_VERSION
        assert conn.execute("PRAGMA application_id").fetchone()[0] == 0x534C4B42
    finally:
        conn.close()


def test_a_file_from_a_newer_schema_is_refused_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    filled_store(path)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()

    with pytest.raises(SchemaVersionError, match=r"store\.db.*schema version 99"):
        SQLiteStore(path)


def test_a_truncated_file_is_reported_as_corrupt_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    filled_store(path)
    size = path.stat().st_size
    with path.open("r+b") as file:
        file.truncate(size // 2)

    with pytest.raises(StoreCorruptError, match=str(path)):
        SQLiteStore(path)
    assert path.stat().st_size == size // 2


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    path.write_text("batches: []\n" * 100)

    with pytest.raises(StoreCorruptError, match=r"store\.db: not a SQLite database"):
        SQLiteStore(path)
    assert path.read_text().startswith("batches: []")


def test_another_applications_sqlite_file_is_not_touched(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()

    before = path.read_bytes()

    with pytest.raises(StoreCorruptError, match=r"app\.db: .*not a slack-batcher store.*users"):
        SQLiteStore(path)
    assert path.read_bytes() == before  # still in rollback-journal mode (header byte 18 = 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.db"]  # no -wal, -shm, .lock


def test_a_foreign_database_in_wal_mode_is_refused_byte_identical(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA application_id = 42")
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()
    before = path.read_bytes()

    with pytest.raises(StoreCorruptError, match=r"app\.db: .*another application"):
        SQLiteStore(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.db"]


def test_a_directory_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=f"{tmp_path}: is a directory"):
        SQLiteStore(tmp_path)


def test_a_file_without_write_permission_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    filled_store(path)

    with unwritable(path), pytest.raises(StoreError, match=r"store\.db: no read and write"):
        SQLiteStore(path)


def test_a_directory_without_write_permission_is_a_clear_error(tmp_path: Path) -> None:
    directory = tmp_path / "ro"
    directory.mkdir()

    with unwritable(directory), pytest.raises(StoreError, match=r"ro/store\.db: no write"):
        SQLiteStore(directory / "store.db")


def test_an_older_file_is_migrated_in_place_keeping_its_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store.db"
    filled_store(path, batches=3)

    def add_priority_index(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE INDEX outbox_by_channel ON outbox (channel_id)")

    current = _sqlite_schema.SCHEMA_VERSION
    monkeypatch.setitem(_sqlite_schema.MIGRATIONS, current + 1, add_priority_index)
    monkeypatch.setattr(_sqlite_schema, "SCHEMA_VERSION", current + 1)

    with SQLiteStore(path) as store:
        assert [b.id for b in store.load().batches] == ["b0", "b1", "b2"]
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == current + 1
    finally:
        conn.close()


def test_a_failing_migration_leaves_the_file_at_its_old_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store.db"
    filled_store(path, batches=2)

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE extra (x)")
        raise RuntimeError("migration bug")

    current = _sqlite_schema.SCHEMA_VERSION
    monkeypatch.setitem(_sqlite_schema.MIGRATIONS, current + 1, broken)
    monkeypatch.setattr(_sqlite_schema, "SCHEMA_VERSION", current + 1)

    with pytest.raises(RuntimeError, match="migration bug"):
        SQLiteStore(path)
    monkeypatch.undo()
    with SQLiteStore(path) as store:
        assert len(store.load().batches) == 2
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == current
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_schema")}
        assert "extra" not in tables
    finally:
        conn.close()


def test_a_second_process_cannot_open_a_store_in_use(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from slack_batcher import SQLiteStore; s = SQLiteStore(sys.argv[1]);"
            " print('ready', flush=True); sys.stdin.read()",
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreError, match=r"store\.db: in use by another process"):
            SQLiteStore(path)
    finally:
        holder.kill()
        holder.wait()
        holder.stdin.close()
        holder.stdout.close()
    SQLiteStore(path).close()  # the lock died with the process


def test_a_hard_link_to_a_store_in_use_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    SQLiteStore(path).close()
    link = tmp_path / "other-name.db"
    os.link(path, link)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from slack_batcher import SQLiteStore; s = SQLiteStore(sys.argv[1]);"
            " print('ready', flush=True); sys.stdin.read()",
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreError, match=r"other-name\.db: in use by another process"):
            SQLiteStore(link)
    finally:
        holder.kill()
        holder.wait()
        holder.stdin.close()
        holder.stdout.close()
    SQLiteStore(link).close()


def test_reopening_in_the_same_process_shares_the_file(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    first = SQLiteStore(path)
    open_with(first, new_batch("b1"), pr("gh-1"))
    second = SQLiteStore(path)
    first.close()

    assert [b.id for b in second.load().batches] == ["b1"]
    second.close()
    SQLiteStore(path).close()


def test_a_closed_store_says_so(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "store.db")
    store.close()
    store.close()

    with pytest.raises(StoreError, match="the store is closed"):
        store.load()


def test_adding_to_a_batch_the_store_never_saw_fails_loudly(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "store.db") as store, pytest.raises(StoreError, match="b9"):
        store.record_add(new_batch("b9"), pr("gh-1"))


def test_a_failed_change_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "store.db") as store:
        batch = new_batch("b1")
        open_with(store, batch, pr("gh-1"))
        with pytest.raises(StoreError, match="UNIQUE"):
            store.record_open(new_batch("b1"), pr("gh-2"))  # same batch id twice

        assert [[m.id for m in b.messages] for b in store.load().batches] == [["gh-1"]]


def test_a_group_commits_every_change_made_inside_even_when_one_fails(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with SQLiteStore(path) as store, pytest.raises(ZeroDivisionError), store.transaction():
        open_with(store, new_batch("b1"), pr("gh-1"), pr("gh-2"))
        with pytest.raises(StoreError):
            store.record_add(new_batch("b9"), pr("gh-3"))
        open_with(store, new_batch("b2"), pr("gh-4"))
        assert [b.id for b in store.load().batches] == ["b1", "b2"]
        1 / 0  # noqa: B018 - the block raising must not undo what was done inside
    with SQLiteStore(path) as store:
        loaded = store.load().batches
        assert [[m.id for m in b.messages] for b in loaded] == [["gh-1", "gh-2"], ["gh-4"]]


def test_calls_from_several_threads_are_serialised(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "store.db")

    def work(worker: int) -> None:
        for n in range(50):
            open_with(store, new_batch(f"b{worker}-{n}"), pr(f"gh-{worker}-{n}"), pr("x"))
            store.set_thread(f"t{worker}-{n}", "1.0", new_batch("x").expires_at)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(store.load().batches) == 200
    store.close()


def test_a_formatter_output_that_cannot_be_stored_keeps_its_batch_and_every_deadline(
    tmp_path: Path,
) -> None:
    from slack_batcher import (
        BatchFormatterContext,
        ManualClock,
        MessageBatcher,
        SlackMessage,
        SlackMessageFormatterFactory,
    )
    from tests.factories import T0, pr

    class Unstorable(SlackMessageFormatterFactory):
        def format_batch(self, context: BatchFormatterContext) -> SlackMessage:
            message = super().format_batch(context)
            if context.channel_id == "C-bad":
                message.metadata["when"] = T0  # a datetime: not JSON
            return message

    clock = ManualClock(T0)
    store = SQLiteStore(tmp_path / "s.db")
    batcher = MessageBatcher(
        formatter_factory=Unstorable(), clock=clock, store=store, auto_ack=False
    )
    batcher.add_message(pr("bad"), "C-bad")
    batcher.add_message(pr("good-1"), "C1")
    batcher.add_message(pr("good-2"), "C2")
    clock.advance(300)
    flushed = batcher.flush_expired_batches()
    assert sorted(flushed) == ["C1", "C2"]
    assert batcher.next_due_at() is not None  # the bad batch keeps its deadline
    assert batcher.inspect_pending_batches()["total_messages"] == 1
    assert batcher.get_batch_stats()["errors"] >= 1
    store.close()


def test_a_growing_digest_is_stored_exactly_as_encoded_whole(tmp_path: Path) -> None:
    import json
    from dataclasses import replace
    from datetime import timedelta

    from slack_batcher.store import codec
    from slack_batcher.store.base import DigestRecord
    from tests.factories import T0

    tricky = pr("gh-1", title='"messages":[] in a title')
    record = DigestRecord(
        key='C1\x1f"messages":[]',
        channel_id="C1",
        ts="1.0",
        created_at=T0,
        updated_at=T0,
        expires_at=T0 + timedelta(hours=1),
        messages=[tricky, pr("gh-2")],
        entries=["b1"],
    )
    grown = replace(record, messages=[*record.messages, pr("gh-3")], entries=["b1", "b2"])
    path = tmp_path / "store.db"
    with SQLiteStore(path) as store:
        store.put_digest(record)
        store.put_digest(grown)  # only gh-3 is encoded and written anew
    conn = sqlite3.connect(path)
    try:
        [(body,)] = conn.execute("SELECT body FROM digests").fetchall()
        parts = conn.execute("SELECT body FROM digest_items ORDER BY seq").fetchall()
    finally:
        conn.close()
    items = [item for (part,) in parts for item in json.loads(part)]
    assert len(parts) == 2  # the second write added one row: gh-3
    stored = {**json.loads(body), "messages": items}
    assert stored == json.loads(codec.dump_json(grown.to_dict()))
    with SQLiteStore(path) as store:
        found = store.get_digest(record.key, T0)
        assert found is not None
        assert [m.id for m in found.messages] == ["gh-1", "gh-2", "gh-3"]


def test_a_flushed_post_joining_a_digest_stores_its_items_as_they_were(tmp_path: Path) -> None:
    from datetime import timedelta

    from slack_batcher.store.base import DigestRecord
    from tests.factories import T0
    from tests.test_store_contract import entry_for

    path = tmp_path / "store.db"
    batch = new_batch("b1")
    with SQLiteStore(path) as store:
        open_with(store, batch, pr("gh-1", title='naïve «quotes» "x"'), pr("gh-2"))
        entry = entry_for(batch)
        store.record_flush(batch, entry)
        record = DigestRecord(
            key="C1\x1fpr:acme/api",
            channel_id="C1",
            ts="1.0",
            created_at=T0,
            updated_at=T0,
            expires_at=T0 + timedelta(hours=1),
            messages=list(entry.messages),  # the flushed objects: their JSON is reused
            entries=[entry.id],
        )
        store.put_digest(record)
    with SQLiteStore(path) as store:
        assert store.get_digest(record.key, T0) == record
