"""`slack-batcher serve` refusing a store: one line naming the file and the problem, exit 2."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from slack_batcher import BatchConfig, MessageBatcher, SQLiteStore, StoreCorruptError
from tests.factories import pr
from tests.serve_process import clean_env, serve_command
from tests.test_http_harness import free_socket


def serve(tmp_path: Path, store: Path) -> subprocess.CompletedProcess[str]:
    with free_socket() as sock:
        port = sock.getsockname()[1]
    config = tmp_path / "service.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{store}"\n'
        f'[sender]\nkind = "jsonl"\njsonl_path = "{tmp_path}/posts.jsonl"\n'
        f"[server]\nport = {port}\n"
    )
    return subprocess.run(
        serve_command(config),
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_foreign_database_is_one_line_and_exit_2_and_left_byte_identical(
    tmp_path: Path,
) -> None:
    app = tmp_path / "app.db"
    conn = sqlite3.connect(app)
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO users (name) VALUES ('ada')")
    conn.commit()
    conn.close()
    before = app.read_bytes()

    result = serve(tmp_path, app)

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(app) in lines[0] and "not a slack-batcher store" in lines[0]
    assert app.read_bytes() == before
    assert not (tmp_path / "app.db.lock").exists()
    assert not (tmp_path / "app.db-wal").exists()


def test_an_unreadable_outbox_row_names_the_file_and_the_row(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with MessageBatcher(BatchConfig(), store=SQLiteStore(path), auto_ack=False) as batcher:
        batcher.add_message(pr("gh-1"), "C1")
        batcher.flush_all_batches()
        batcher.close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE outbox SET messages = '[{\"id\": ' WHERE seq = 1")
    conn.commit()
    conn.close()

    store = SQLiteStore(path)
    try:
        with pytest.raises(StoreCorruptError, match=r"store\.db: table outbox, row seq=1"):
            MessageBatcher(BatchConfig(), store=store, auto_ack=False)
    finally:
        store.close()

    result = serve(tmp_path, path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(path) in lines[0] and "table outbox, row seq=1" in lines[0]
    assert "Traceback" not in result.stderr


def test_a_newer_schema_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    SQLiteStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()

    result = serve(tmp_path, path)

    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "schema version 99" in result.stderr
