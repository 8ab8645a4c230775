"""What the service tells its operators: request metrics, JSON log fields, offline /docs."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.test_http_harness import TOKEN, LiveServer, event


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

    counts = samples(server, "slack_batcher_http_requests_total")
    assert counts[("POST", "/v1/messages", "202")] == 3
    assert counts[("POST", "/v1/messages", "413")] == 1, "refused before routing, still named"
    assert counts[("POST", "/v1/batches/{batch_id}/flush", "404")] == 2, "templates, not ids"
    assert counts[("GET", "unmatched", "404")] == 1
    assert counts[("GET", "/v1/stats", "401")] == 1
    assert not any("b_one" in route for _, route, _ in counts)

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
