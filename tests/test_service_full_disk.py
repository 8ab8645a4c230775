"""`slack-batcher serve` on a full disk: 503 with the reason, /readyz 503, metrics, recovery.

The disk is simulated without root: the server process runs with ``RLIMIT_FSIZE`` (no file
may grow past 1.5 MiB) and SIGXFSZ ignored, so a write past it fails as on a full volume.
Rerun: ``.venv/bin/pytest tests/test_service_full_disk.py -q``.
"""

from __future__ import annotations

import re
import resource
import signal
import subprocess
import time
from pathlib import Path

import httpx

from slack_batcher import ManualClock
from tests.serve_process import clean_env, serve_command, wait_ready
from tests.test_http_harness import free_socket, in_process

LIMIT = 3 * 1024 * 1024 // 2


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # stays ignored across exec
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, resource.RLIM_INFINITY))


def big_event(number: int) -> dict[str, object]:
    return {
        "id": f"big-{number}",
        "content_type": "pr_update",
        "author": "alice",
        "channel": f"#c{number % 90}",  # under max_channels: only size flushes
        "data": {"repository": "acme/api", "title": f"PR {number}", "body": "x" * 20_000},
    }


def test_a_full_disk_is_a_503_with_the_reason_and_readyz_says_not_ready(tmp_path: Path) -> None:
    with free_socket() as sock:
        port = sock.getsockname()[1]
    config = tmp_path / "service.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path}/batches.db"\n'
        '[sender]\nkind = "console"\n'
        f"[server]\nport = {port}\nmax_body_bytes = 100000\n"
    )
    process = subprocess.Popen(
        serve_command(config),
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_limit_file_size,  # only setrlimit and signal: safe before exec
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process, time.monotonic() + 20)
        accepted = 0
        for number in range(400):
            response = httpx.post(f"{url}/v1/messages", json=big_event(number), timeout=10)
            if response.status_code != 202:
                break
            accepted += 1
        assert 0 < accepted < 400
        assert response.status_code == 503
        assert "disk is full" in response.json()["detail"]
        health = httpx.get(f"{url}/healthz")  # a failed group commit: only a restart helps
        assert health.status_code == 503 and "disk is full" in health.json()["reason"]
        ready = httpx.get(f"{url}/readyz")
        assert ready.status_code == 503
        assert "disk is full" in ready.json()["reason"]
        metrics = httpx.get(f"{url}/metrics").text
        assert "slack_batcher_store_write_failing 1.0" in metrics
        assert "slack_batcher_delivery_possible_duplicates_total 0.0" in metrics
        assert "slack_batcher_delivery_recovered_total 0.0" in metrics
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    # Shutdown says what happened: the flushes that could not be written are not "flushed".
    found = re.search(r"shutdown: flushed (\d+) of (\d+) pending batches \((\d+) failed", stderr)
    assert found is not None, stderr
    flushed, pending, failed = map(int, found.groups())
    assert failed > 0 and flushed + failed == pending


async def test_readyz_is_503_as_soon_as_a_shutdown_is_requested(clock: ManualClock) -> None:
    async with in_process(clock) as app:
        assert (await app.client.get("/readyz")).status_code == 200
        app.service.request_shutdown(signal.SIGTERM)  # what the server's signal handler does
        ready = await app.client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["reason"] == "the service is shutting down"
