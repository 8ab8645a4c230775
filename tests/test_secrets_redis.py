"""The Redis password shows nowhere: config show, the startup line, logs, stats, health,
the dashboard and the open /readyz (while Redis is up and while it is down).

A real ``serve`` process against a redis-server started with ``--requirepass``; the
password holds ``@`` (whose tail a pattern-based redaction used to leak).
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from click.testing import CliRunner

from slack_batcher.cli.commands import main
from slack_batcher.store.describe import redacted_url
from tests.redis_server import RedisServer
from tests.serve_process import clean_env, serve_command, wait_ready
from tests.test_http_harness import free_socket

PASSWORD = "Zq7hid@den-Tail9"
#: Pieces that must not show either: before and after the "@".
PIECES = ("Zq7hid", "den-Tail9", quote(PASSWORD, safe=""))


def url_forms(port: int) -> dict[str, str]:
    """Every way redis-py takes a password, with this one."""
    return {
        "userinfo": f"redis://:{PASSWORD}@127.0.0.1:{port}/0",
        "user and password": f"redis://default:{PASSWORD}@127.0.0.1:{port}/0",
        "query": f"redis://127.0.0.1:{port}/0?password={quote(PASSWORD, safe='')}",
    }


def assert_hidden(text: str, where: str) -> None:
    for piece in PIECES:
        assert piece not in text, f"{piece!r} shows in {where}: {text[:2000]}"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:pw@h:1/0", "redis://:***@h:1/0"),
        ("redis://:p@ss@h:1/0", "redis://:***@h:1/0"),
        ("redis://u:p/ss@h/0", "redis://u:***@h/0"),
        ("redis://:p#ss@h/0", "redis://:***@h/0"),
        ("rediss://secret@h/0", "rediss://***@h/0"),
        ("redis://h/0?password=pw&db=1", "redis://h/0?password=***&db=1"),
        ("unix:///run/r.sock?db=0&password=pw", "unix:///run/r.sock?db=0&password=***"),
        ("redis+sentinel://:pw@a:1,b:2/svc/0", "redis+sentinel://:***@a:1,b:2/svc/0"),
        ("redis://h/0?sentinel_password=pw", "redis://h/0?sentinel_password=***"),
        ("redis://h/0?client_name=a@b", "redis://h/0?client_name=a@b"),
        ("sqlite:///var/lib/x.db", "sqlite:///var/lib/x.db"),
    ],
)
def test_every_credential_form_is_redacted(url: str, shown: str) -> None:
    assert redacted_url(url) == shown


def test_config_show_hides_the_password_in_every_form(tmp_path: Path) -> None:
    for name, url in url_forms(6379).items():
        config = tmp_path / "c.toml"
        config.write_text(f"[store]\nurl = {json.dumps(url)}\n")
        for extra in ([], ["--json"]):
            shown = CliRunner().invoke(main, ["config", "show", "--config", str(config), *extra])
            assert shown.exit_code == 0, shown.output
            assert "127.0.0.1:6379/0" in shown.stdout, name
            assert_hidden(shown.output, f"config show {extra} ({name})")


@pytest.fixture(scope="module")
def locked_redis() -> Iterator[RedisServer]:
    server = RedisServer("--requirepass", PASSWORD)
    yield server
    server.close()


@pytest.mark.timeout(180)  # real processes, slower on a loaded machine
@pytest.mark.parametrize("form", ["userinfo", "user and password", "query"])
def test_a_served_redis_store_shows_its_password_nowhere(
    tmp_path: Path, locked_redis: RedisServer, form: str
) -> None:
    redis = locked_redis
    url = url_forms(redis.port)[form]
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    config = tmp_path / "serve.toml"
    config.write_text(
        f"[store]\nurl = {json.dumps(url)}\nprefix = {json.dumps(form.replace(' ', '-'))}\n"
        f'[server]\nport = {port}\n[sender]\nkind = "jsonl"\n'
        f'jsonl_path = "{tmp_path / "posts.jsonl"}"\n[logging]\nlevel = "DEBUG"\n'
    )
    base = f"http://127.0.0.1:{port}"
    http = httpx.Client(base_url=base, timeout=30)
    process = subprocess.Popen(
        serve_command(config), stderr=subprocess.PIPE, text=True, env=clean_env(), cwd=tmp_path
    )
    seen: list[tuple[str, str]] = []
    try:
        wait_ready(base, process, time.monotonic() + 30)
        event = {"id": "e-1", "channel": "#dev", "content_type": "generic", "data": {}}
        assert http.post("/v1/messages", json=event).status_code == 202
        for path in ("/v1/stats", "/v1/health", "/", "/readyz", "/metrics"):
            seen.append((path, http.get(path).text))
        assert "redis://" in dict(seen)["/v1/stats"]  # the (redacted) URL is still named
        redis.stop()
        try:
            down = http.post("/v1/messages", json={**event, "id": "e-2"})
            seen.append(("POST /v1/messages (Redis down)", down.text))
            for path in ("/readyz", "/v1/stats", "/v1/health", "/"):
                seen.append((f"{path} (Redis down)", http.get(path).text))
            ready = http.get("/readyz")
            assert ready.status_code == 503
            assert "redis://" not in ready.text  # no store URL in an open answer
        finally:
            redis.start()
    finally:
        http.close()
        process.send_signal(signal.SIGTERM)
        try:
            _, log = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            _, log = process.communicate()
    assert f"127.0.0.1:{redis.port}" in log
    for where, text in [*seen, ("the log", log)]:
        assert_hidden(text, f"{where} ({form})")
