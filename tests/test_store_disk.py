"""The SQLite store on a small or full disk.

A small disk is simulated without root: the store runs in a child process
(``tests/disk_child.py``) with ``RLIMIT_FSIZE`` set, so no file may grow past the limit and
a write past it fails as on a full volume (EFBIG instead of ENOSPC; SQLite reports both as
an I/O error or "disk is full"). Rerun: ``.venv/bin/pytest tests/test_store_disk.py -q``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from slack_batcher import BatchConfig, MessageBatcher, SQLiteStore
from tests.disk_child import event

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
