"""The security holes found by probing (issue 9, items 1-2), closed and kept closed.

Each test sends real requests to a served uvicorn (or starts a real `serve` process), as
the probe that found the hole did.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from slack_batcher import ManualClock
from slack_batcher.http import create_app
from slack_batcher.testing import FakeSlack
from tests.serve_process import clean_env, serve_command
from tests.test_http_harness import (
    TOKEN,
    LiveServer,
    event,
    free_socket,
    make_service,
    server_settings,
)


def serve_process(
    tmp_path: Path, *args: str, env: dict[str, str], toml: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run `slack-batcher serve` with a config in *tmp_path*; kill it if it starts serving."""
    with free_socket() as sock:
        port = sock.getsockname()[1]
    config = tmp_path / "service.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path}/batches.db"\n'
        f'[sender]\nkind = "jsonl"\njsonl_path = "{tmp_path}/posts.jsonl"\n'
        f"[server]\nport = {port}\n{toml}"
    )
    try:
        return subprocess.run(
            serve_command(config, *args),
            env={**clean_env(), **env},
            capture_output=True,
            text=True,
            timeout=20,
        )
    except subprocess.TimeoutExpired as exc:  # it served: the hole is open
        raise AssertionError(f"serve started instead of refusing: {exc.stderr!r}") from None


# ------------------------------------------------------------------ item 1: empty token


@pytest.mark.parametrize(
    ("env", "toml"),
    [
        ({"SLACK_BATCHER_SERVER__API_TOKEN": ""}, ""),
        ({"SLACK_BATCHER_API_TOKEN": "   "}, ""),
        ({}, 'api_token = ""\n'),
        ({}, 'api_token = " \\t "\n'),
    ],
    ids=["empty-env", "blank-alias-env", "empty-toml", "whitespace-toml"],
)
def test_an_empty_api_token_is_no_token_so_a_public_bind_exits_2(
    tmp_path: Path, env: dict[str, str], toml: str
) -> None:
    result = serve_process(tmp_path, "--host", "0.0.0.0", env=env, toml=toml)
    assert result.returncode == 2, result.stderr
    assert "server.host" in result.stderr and "no API token is set" in result.stderr
    assert "API token required" not in result.stderr
    assert "Traceback" not in result.stderr


def test_a_short_api_token_is_refused_without_echoing_it(tmp_path: Path) -> None:
    result = serve_process(
        tmp_path, "--host", "0.0.0.0", env={"SLACK_BATCHER_API_TOKEN": "hunter2"}
    )
    assert result.returncode == 2, result.stderr
    assert "server.api_token: too short (7 characters): use at least 16" in result.stderr
    assert "hunter2" not in result.stderr


# ------------------------------------------------------- item 2: tokenless loopback mode


@pytest.fixture(scope="module")
def open_server() -> Iterator[LiveServer]:
    with LiveServer(token=None, channels=["#dev-api"], dashboard_refresh_seconds=0) as live:
        yield live


def raw(server: LiveServer, method: str, path: str, **kwargs: object) -> httpx.Response:
    """One request to the live server, with exactly the headers given."""
    with httpx.Client(base_url=server.url, timeout=10) as client:
        return client.request(method, path, **kwargs)  # type: ignore[arg-type]


def test_without_a_token_a_rebound_host_name_is_misdirected(open_server: LiveServer) -> None:
    raw(open_server, "POST", "/v1/messages", json=event("rebind-1")).raise_for_status()
    evil = {"Host": "evil.example"}
    for method, path in [
        ("GET", "/v1/dead-letters"),
        ("GET", "/v1/batches"),
        ("POST", "/v1/flush"),
        ("POST", "/dashboard/flush"),
        ("GET", "/"),
        ("GET", "/metrics"),
    ]:
        answer = raw(open_server, method, path, headers=evil)
        assert answer.status_code == 421, (method, path, answer.status_code)
        assert answer.headers["content-type"] == "application/problem+json"
        assert "loopback host name" in answer.json()["detail"]
    port = open_server.url.rsplit(":", 1)[1]
    for host in (f"evil.example:{port}", f"localhost.evil.example:{port}", "127.0.0.1.nip.io", ""):
        assert raw(open_server, "GET", "/v1/stats", headers={"Host": host}).status_code == 421
    assert open_server.batcher.get_batch_stats()["messages_pending"] == 1, "nothing flushed"


def test_without_a_token_loopback_names_with_the_port_are_served(open_server: LiveServer) -> None:
    port = open_server.url.rsplit(":", 1)[1]
    loopback = (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "LOCALHOST", "127.0.0.2")
    for host in loopback:
        answer = raw(open_server, "GET", "/v1/stats", headers={"Host": host})
        assert answer.status_code == 200, host


def test_without_a_token_cross_origin_state_changes_are_refused(open_server: LiveServer) -> None:
    raw(open_server, "POST", "/v1/messages", json=event("csrf-1")).raise_for_status()
    pending = open_server.batcher.get_batch_stats()["messages_pending"]
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for headers in (
        {"Origin": "https://evil.example", **form},  # a cross-site <form method=post>
        {"Origin": "null", **form},  # the same from a sandboxed frame
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "http://localhost:3000"},
    ):
        answer = raw(open_server, "POST", "/v1/flush", headers=headers, content=b"x=1")
        assert answer.status_code == 403, headers
        assert "cross-origin request refused" in answer.json()["detail"]
    refused = raw(
        open_server,
        "POST",
        "/v1/messages",
        json=event("csrf-2"),
        headers={"Origin": "https://evil.example"},
    )
    assert refused.status_code == 403
    assert open_server.batcher.get_batch_stats()["messages_pending"] == pending
    # Reading stays possible for a page of this origin; a client with no Origin (curl) acts.
    same = {"Origin": open_server.url, "Sec-Fetch-Site": "same-origin"}
    assert raw(open_server, "POST", "/v1/flush", headers=same).status_code == 200
    assert raw(open_server, "POST", "/v1/flush").status_code == 200


def test_with_a_token_any_host_name_is_served_as_behind_a_reverse_proxy() -> None:
    with LiveServer(token=TOKEN) as live:
        proxied = {"Host": "batcher.example.com", "Authorization": f"Bearer {TOKEN}"}
        assert raw(live, "GET", "/v1/stats", headers=proxied).status_code == 200
        assert raw(live, "GET", "/healthz", headers={"Host": "batcher.example.com"}).is_success
        anonymous = raw(live, "GET", "/v1/stats", headers={"Host": "batcher.example.com"})
        assert anonymous.status_code == 401


async def test_without_a_token_source_webhooks_are_exempt_from_the_host_check(
    clock: ManualClock,
) -> None:
    with FakeSlack(clock=clock, posts_per_second=None) as slack:
        service = make_service(slack, clock)
        app = create_app(service, settings=server_settings(None))

        async def probe() -> dict[str, str]:  # stands in for a signed webhook endpoint
            return {"status": "verified by its own signature"}

        app.add_api_route("/v1/sources/probe", probe, methods=["POST"])
        transport = httpx.ASGITransport(app=app)
        async with (
            service,
            httpx.AsyncClient(transport=transport, base_url="http://abc.tunnel.example") as client,
        ):
            assert (await client.post("/v1/sources/probe")).status_code == 200
            assert (await client.post("/v1/flush")).status_code == 421
        service.batcher.close()
