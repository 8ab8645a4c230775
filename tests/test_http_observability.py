"""What the service tells its operators: request metrics, JSON log fields, offline /docs."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from slack_batcher.testing import FakeSlack
from tests.serve_process import clean_env, serve_command, wait_ready
from tests.test_http_harness import TOKEN, LiveServer, event, free_socket


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with LiveServer(channels=["#dev-api"], max_body_bytes=2048) as live:
        yield live


def samples(server: LiveServer, name: str) -> dict[tuple[str, str, str], float]:
    """The samples of one metric, keyed by (method, route, status)."""
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    found: dict[tuple[str, str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                labels = sample.labels
                found[(labels["method"], labels["route"], labels["status"])] = sample.value
    return found


def test_requests_are_counted_and_timed_by_route_template_and_status(server: LiveServer) -> None:
    with server.client() as client:
        for i in range(3):
            assert client.post("/v1/messages", json=event(f"m-{i}")).status_code == 202
        assert client.post("/v1/batches/b_one/flush").status_code == 404
        assert client.post("/v1/batches/b_two/flush").status_code == 404
        assert client.get("/no/such/page").status_code == 404
        too_big = client.post("/v1/messages", content=b"[" + b" " * 4096 + b"]")
        assert too_big.status_code == 413
    anonymous = httpx.get(f"{server.url}/v1/stats", timeout=10)
    assert anonymous.status_code == 401
    for verb in ("BREW", "PROPFIND"):  # made-up methods cannot add series
        httpx.request(verb, f"{server.url}/v1/stats", timeout=10)

    counts = samples(server, "slack_batcher_http_requests_total")
    assert counts[("POST", "/v1/messages", "202")] == 3
    assert counts[("POST", "/v1/messages", "413")] == 1, "refused before routing, still named"
    assert counts[("POST", "/v1/batches/{batch_id}/flush", "404")] == 2, "templates, not ids"
    assert counts[("GET", "unmatched", "404")] == 1
    assert counts[("GET", "/v1/stats", "401")] == 1
    assert not any("b_one" in route for _, route, _ in counts)
    assert sum(v for (method, _, _), v in counts.items() if method == "OTHER") == 2
    assert not any(method in ("BREW", "PROPFIND") for method, _, _ in counts)

    latency = samples(server, "slack_batcher_http_request_duration_seconds_count")
    assert latency[("POST", "/v1/messages", "202")] == 3
    buckets = samples(server, "slack_batcher_http_request_duration_seconds_sum")
    assert buckets[("POST", "/v1/messages", "202")] > 0


def test_docs_load_their_assets_from_this_server(server: LiveServer) -> None:
    page = httpx.get(server.url + "/docs", timeout=10)
    assert page.status_code == 200
    assert "http://" not in page.text and "https://" not in page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        answer = httpx.get(f"{server.url}/docs/assets/{asset}", timeout=10)
        assert answer.status_code == 200 and len(answer.content) > 100_000, asset
    assert TOKEN  # the docs are open, like /openapi.json


def test_json_logs_carry_channel_batch_outbox_and_error_code_as_fields(tmp_path: Path) -> None:
    with FakeSlack(posts_per_second=None, channels=["#dev-api"]) as slack, free_socket() as sock:
        port = sock.getsockname()[1]
        sock.close()
        config = tmp_path / "service.toml"
        config.write_text(
            f'[store]\nurl = "sqlite:///{tmp_path}/batches.db"\n'
            f'[sender]\nkind = "slack"\nslack_api_url = "{slack.base_url}"\n'
            f"[server]\nport = {port}\n"
            '[logging]\nformat = "json"\n'
        )
        env = clean_env()
        env["SLACK_BOT_TOKEN"] = slack.token or ""
        env["SLACK_BATCHER_API_TOKEN"] = TOKEN
        process = subprocess.Popen(
            serve_command(config),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            headers = {"Authorization": f"Bearer {TOKEN}"}
            deadline = time.monotonic() + 20
            wait_ready(url, process, deadline)
            sent = httpx.post(f"{url}/v1/messages", json=event("lost-1", "#gone"), headers=headers)
            [accepted] = sent.json()["results"]
            httpx.post(f"{url}/v1/flush", headers=headers).raise_for_status()
            while not httpx.get(f"{url}/v1/dead-letters", headers=headers).json()["dead_letters"]:
                assert time.monotonic() < deadline, "no dead letter"
                time.sleep(0.05)
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=30)
    records = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    [dead] = [r for r in records if r["message"].startswith("dead-lettered post")]
    assert dead["level"] == "ERROR"
    assert dead["channel"] == "#gone"
    assert dead["batch_id"] == accepted["batch_id"]
    assert dead["outbox_id"] == accepted["batch_id"]  # one flush per batch
    assert dead["error_code"] == "channel_not_found"
    refused = [r for r in records if r["message"].startswith("Slack refused a post")]
    assert refused and refused[0]["channel"] == "#gone"
    assert refused[0]["error_code"] == "channel_not_found"
    assert TOKEN not in stderr and (slack.token or "xoxb") not in stderr
