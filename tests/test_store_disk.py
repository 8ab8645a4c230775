"""The SQLite store on a small or full disk.

A small disk is simulated without root: the store runs in a child process
(``tests/disk_child.py``) with ``RLIMIT_FSIZE`` set, so no file may grow past the limit and
a write past it fails as on a full volume (EFBIG instead of ENOSPC; SQLite reports both as
an I/O error or "disk is full"). Rerun: ``.venv/bin/pytest tests/test_store_disk.py -q``.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from slack_batcher import BatchConfig, MessageBatcher, SQLiteStore
from slack_batcher.model.errors import StoreFullError
from tests.disk_child import event
from tests.full_volume import SmallVolume, take_every_byte

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024


def child(limit: int, path: Path, mode: str, count: int = 0) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-m", "tests.disk_child", str(limit), str(path), mode, str(count)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, object] = json.loads(result.stdout)
    return report


def test_the_wal_stays_small_enough_for_a_4_mib_file_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "store.db"

    report = child(4 * MIB, path, "ingest", 3000)

    assert report.get("error") is None, report["error"]
    assert report["accepted"] == 3000
    assert not (tmp_path / "store.db-wal").exists()  # checkpointed and removed at close


def test_a_full_disk_is_a_store_full_error_naming_the_disk(tmp_path: Path) -> None:
    path = tmp_path / "store.db"

    report = child(2 * MIB, path, "fill", 5000)

    assert 0 < report["accepted"] < 5000  # type: ignore[operator]
    assert report["error_type"] == "StoreFullError"
    assert "the disk is full" in str(report["error"])
    assert str(path) in str(report["error"])
    assert "free on the volume" in str(report["error"])


def test_a_restart_on_a_full_disk_can_still_read_the_outbox(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with MessageBatcher(BatchConfig(), store=SQLiteStore(path), auto_ack=False) as batcher:
        for number in range(50):
            batcher.add(event(number), f"C{number % 5}")
        batcher.flush_all_batches()
        batcher.close()
    # Nothing may grow now, not even the WAL index SQLite creates on open.
    report = child(16 * 1024, path, "deliver")

    assert report["opened"] is True, report.get("error")
    assert "the disk is full" in str(report["write_error"])
    assert sorted(report["outbox"]) == sorted(f"e{n}" for n in range(50))  # type: ignore[arg-type]


# ---------------------------------------------------------------- a real small volume
# A tmpfs of a few MiB (tests/full_volume.py): the store sees ENOSPC as on a full disk.


def fill_until_refused(batcher: MessageBatcher, first: int = 0) -> int:
    """Add large events until the store refuses one; return how many were accepted."""
    for number in range(first, first + 100_000):
        try:
            batcher.add(event(number, 20_000), f"C{number % 7}")
        except StoreFullError:
            return number - first
    raise AssertionError("the store never refused an event")


def test_new_events_are_refused_before_the_volume_fills_and_the_outbox_still_drains() -> None:
    with SmallVolume(6 * MIB) as volume:
        store = SQLiteStore(volume.path / "store.db")
        batcher = MessageBatcher(BatchConfig(max_batch_size=2), store=store, auto_ack=False)
        accepted = fill_until_refused(batcher)
        assert accepted > 50
        assert "the disk is full for new events" in str(store.write_error)
        with pytest.raises(StoreFullError, match="the disk is full for new events"):
            batcher.add(event(5000, 20_000), "C1")  # refused up front, nothing written

        entries = batcher.outbox.entries()
        assert entries
        for entry in entries:  # delivery's writes still find room: every ack is written
            entry.state.posted.append("1.0")
            batcher.outbox.update(entry)
            assert batcher.outbox.ack(entry.id)
        batcher.flush_all_batches()
        for entry in batcher.outbox.entries():
            assert batcher.outbox.ack(entry.id)
        store.checkpoint()  # the outbox drained: its room is free inside the file

        assert store.write_error is None
        assert fill_until_refused(batcher, 10_000) > 20  # and new events fill it again
        store.close()


def test_a_restart_on_a_full_volume_opens_delivers_and_accepts_once_space_is_freed() -> None:
    with SmallVolume(6 * MIB) as volume:
        path = volume.path / "store.db"
        store = SQLiteStore(path)
        batcher = MessageBatcher(BatchConfig(max_batch_size=2), store=store, auto_ack=False)
        fill_until_refused(batcher)
        batcher.flush_all_batches()
        waiting = [e.id for e in batcher.outbox.entries()]
        store.close()
        ballast = volume.path / "ballast"  # another program takes every byte left
        with ballast.open("wb") as file, contextlib.suppress(OSError):
            while True:
                file.write(b"\0" * 65536)
                file.flush()

        store = SQLiteStore(path)  # the reserve is released: the store opens normally
        assert store.write_error is not None
        batcher = MessageBatcher(BatchConfig(), store=store, auto_ack=False)
        assert [e.id for e in batcher.outbox.entries()] == waiting
        for outbox_id in waiting:
            assert batcher.outbox.ack(outbox_id)
        store.checkpoint()
        assert store.write_error is not None  # no room for the reserve: events still refused
        ballast.unlink()  # space is freed
        store.checkpoint()
        assert store.write_error is None
        assert batcher.add(event(99_999), "C1") is not None
        store.close()
        assert SQLiteStore(path).outbox_entries() == []


def test_a_restart_on_a_full_volume_marks_and_acks_a_turn_of_posts_in_one_commit() -> None:
    """The service marks each channel's next post `attempting` in one group commit, then
    acks them. Before, each mark rewrote the entry's whole row (its post and messages, and
    Debian's SQLite zeroes every freed page again): ~10 marks of 100 KB posts overflowed
    the 1 MiB a full volume keeps for delivery, the commit failed and nothing was posted."""
    with SmallVolume(8 * MIB) as volume:
        path = volume.path / "store.db"
        store = SQLiteStore(path)
        batcher = MessageBatcher(BatchConfig(max_batch_size=5), store=store, auto_ack=False)
        fill_until_refused(batcher)
        batcher.flush_all_batches()
        store.close()
        take_every_byte(volume.path)  # another program takes every byte left

        store = SQLiteStore(path)
        batcher = MessageBatcher(BatchConfig(), store=store, auto_ack=False)
        entries = batcher.outbox.entries()
        assert len(entries) >= 20
        turn = entries[:12]
        with store.transaction():
            for entry in turn:
                entry.state.attempting = 0
                entry.attempts += 1
                batcher.outbox.update(entry)
        with store.transaction():
            for entry in turn:
                entry.state.attempting = None
                entry.state.posted.append("1.0")
                assert batcher.outbox.ack(entry.id)
        assert store.write_error is not None  # still no room for new events
        store.close()

        left = SQLiteStore(path).outbox_entries()
        assert [e.id for e in left] == [e.id for e in entries[12:]]
        assert all(e.attempts == 0 and e.state.attempting is None for e in left)


def test_a_file_of_the_previous_version_opens_on_a_full_volume_and_delivers() -> None:
    """The upgrade's migration needs room too: the reserve gives it (before: "cannot open
    the store: database or disk is full", and nothing was delivered)."""
    with SmallVolume(4 * MIB) as volume:
        path = volume.path / "store.db"
        store = SQLiteStore(path)
        batcher = MessageBatcher(BatchConfig(max_batch_size=2), store=store, auto_ack=False)
        for number in range(20):
            batcher.add(event(number, 20_000), "C1")
        batcher.flush_all_batches()
        store.close()
        with contextlib.closing(sqlite3.connect(path)) as conn:  # as version 5 wrote it
            conn.execute("DROP TRIGGER outbox_progress_gone")
            conn.execute("DROP TABLE outbox_progress")
            conn.execute("PRAGMA user_version = 5")
            conn.commit()
        take_every_byte(volume.path)

        store = SQLiteStore(path)
        assert "the disk is full for new events" in str(store.write_error)
        batcher = MessageBatcher(BatchConfig(), store=store, auto_ack=False)
        entries = batcher.outbox.entries()
        assert len(entries) == 10
        for entry in entries:
            entry.state.attempting = 0
            batcher.outbox.update(entry)
            assert batcher.outbox.ack(entry.id)
        store.close()
        with contextlib.closing(sqlite3.connect(path)) as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] >= 6
