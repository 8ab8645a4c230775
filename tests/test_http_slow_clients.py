"""Slow and vanishing clients against a real ``serve`` process over real sockets.

- A body trickling 1 byte/s is answered 408 and its connection closed once
  ``server.max_body_seconds`` has passed (2 s here; 30 s by default).
- A client that disconnects mid-body costs at most one INFO line, never an ERROR traceback.
- Out of file descriptors (``ulimit -n 64`` and 150 slow clients), the log says so once per
  interval instead of a traceback per failed ``accept()``, and the server still answers.

Every loop here is bounded by a deadline; nothing sleeps through a batching window.
"""

from __future__ import annotations

import json
import resource
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.serve_process import clean_env, serve_command, wait_ready
from tests.test_http_harness import free_socket

BODY_SECONDS = 2.0
GH_SECRET = "gh-secret-0123456789abcdef"


@contextmanager
def serving(
    tmp_path: Path, *, preexec: Callable[[], None] | None = None, **server: object
) -> Iterator[tuple[int, Callable[[], str]]]:
    """Run ``serve`` (tokenless, loopback) on a free port; yield (port, a log reader)."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    extra = "".join(f"{key} = {json.dumps(value)}\n" for key, value in server.items())
    config = tmp_path / "serve.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "s.db"}"\n'
        f"[server]\nport = {port}\nmax_body_seconds = {BODY_SECONDS}\n{extra}"
        f'[sources.github]\nsecret = "{GH_SECRET}"\n[[routes]]\nchannel = "#all"\n'
        f'[sender]\nkind = "jsonl"\njsonl_path = "{tmp_path / "posts.jsonl"}"\n'
    )
    log = tmp_path / "serve.log"
    with log.open("w") as handle:
        process = subprocess.Popen(
            serve_command(config),
            stderr=handle,
            env=clean_env(),
            cwd=tmp_path,
            preexec_fn=preexec,
        )
    try:
        wait_ready(f"http://127.0.0.1:{port}", process, time.monotonic() + 30)
        yield port, log.read_text
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_body(port: int, path: str, declared: int = 1000) -> socket.socket:
    """Open a connection and send the headers of a POST plus the body's first byte."""
    conn = socket.create_connection(("127.0.0.1", port), timeout=5)
    conn.sendall(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {declared}\r\n\r\n{{".encode()
    )
    return conn


@pytest.mark.timeout(120)  # real processes, slower on a loaded machine
def test_a_trickling_body_is_answered_408_and_closed_within_the_limit(tmp_path: Path) -> None:
    with serving(tmp_path) as (port, _):
        conn = start_body(port, "/v1/messages")
        started = time.monotonic()
        answer = b""
        conn.settimeout(0.2)
        while time.monotonic() - started < BODY_SECONDS + 10:
            try:
                conn.sendall(b" ")  # 1 byte a tick: the body never completes in time
            except OSError:
                break
            try:
                chunk = conn.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                break
            if not chunk:
                break  # closed by the server
            answer += chunk
        took = time.monotonic() - started
        conn.close()
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert BODY_SECONDS - 0.5 <= took < BODY_SECONDS + 5, took


@pytest.mark.timeout(120)  # real processes, slower on a loaded machine
def test_a_trickling_request_head_is_closed_within_the_limit(tmp_path: Path) -> None:
    with serving(tmp_path, max_head_seconds=BODY_SECONDS) as (port, _):
        conn = socket.create_connection(("127.0.0.1", port), timeout=5)
        conn.settimeout(0.2)
        started = time.monotonic()
        closed = False
        for byte in b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 60:
            if time.monotonic() - started > BODY_SECONDS + 10:
                break
            try:
                conn.sendall(bytes([byte]))
                closed = conn.recv(1) == b""
            except TimeoutError:
                continue
            except OSError:
                closed = True
            if closed:
                break
        took = time.monotonic() - started
        conn.close()
        assert closed
        assert BODY_SECONDS - 0.5 <= took < BODY_SECONDS + 5, took


def test_a_body_that_completes_in_time_is_served_as_before(tmp_path: Path) -> None:
    with serving(tmp_path) as (port, _):
        event = {"id": "e-1", "channel": "#dev", "content_type": "generic", "data": {}}
        answer = httpx.post(f"http://127.0.0.1:{port}/v1/messages", json=event)
        assert answer.status_code == 202


def test_clients_that_go_away_mid_body_cost_at_most_an_info_line(tmp_path: Path) -> None:
    paths = ["/v1/sources/github", "/v1/messages", "/dashboard/flush"]
    with serving(tmp_path) as (port, read_log):
        before = read_log()
        for path in paths:
            for _ in range(3):
                start_body(port, path).close()
        # The server notices each disconnect; wait (bounded) until it has said so.
        deadline = time.monotonic() + 10
        while "went away" not in read_log() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200
        said = read_log()[len(before) :]
    assert "went away" in said
    assert "Traceback" not in said and "ERROR" not in said, said
    assert len(said.splitlines()) <= len(paths) * 3


def _few_descriptors() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))


@pytest.mark.timeout(180)  # real processes, slower on a loaded machine
def test_out_of_descriptors_the_log_says_so_once_per_interval(tmp_path: Path) -> None:
    with serving(tmp_path, preexec=_few_descriptors, max_connections=200) as (port, read_log):
        conns = []
        for _ in range(150):  # far more than 64 descriptors
            try:
                conns.append(start_body(port, "/v1/messages", declared=100_000))
            except OSError:
                break
        time.sleep(1.5)  # the accept loop retries once a second: let it fail a few times
        for conn in conns:
            conn.close()
        deadline = time.monotonic() + BODY_SECONDS + 15
        ready = 0
        while time.monotonic() < deadline and ready != 200:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code
            except httpx.TransportError:
                time.sleep(0.2)
        assert ready == 200
        log = read_log()
    assert "Too many open files" in log
    assert "Traceback" not in log
    assert log.count("Too many open files") <= 3, log[-3000:]
    assert len(log) < 20_000


@pytest.mark.timeout(120)  # real processes, slower on a loaded machine
def test_past_max_connections_requests_get_503_and_one_log_line(tmp_path: Path) -> None:
    with serving(tmp_path, max_connections=4) as (port, read_log):
        conns = [start_body(port, "/v1/messages", declared=100_000) for _ in range(30)]
        answers = []
        for conn in conns:
            conn.settimeout(BODY_SECONDS + 10)
            try:
                answers.append(conn.recv(64)[:12])
            except OSError:
                answers.append(b"")
            conn.close()
        log = read_log()
    assert answers.count(b"HTTP/1.1 503") >= 20, answers
    assert 1 <= log.count("Exceeded concurrency limit.") <= 2, log[-2000:]


def test_a_repeated_log_line_passes_once_per_interval_with_its_count() -> None:
    import logging

    from slack_batcher.http.exhaustion import RepeatFilter

    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("tests.repeat")
    logger.addHandler(handler)
    logger.addFilter(RepeatFilter(("Exceeded concurrency limit.",), seconds=3600))
    try:
        for _ in range(100):
            logger.warning("Exceeded concurrency limit.")
        logger.warning("something else")
    finally:
        logger.removeHandler(handler)
    assert records == [
        "Exceeded concurrency limit. (once since the last such line)",
        "something else",
    ]
