"""The dashboard's Sources table in a real browser (Debian's Chromium via Playwright)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, expect, sync_playwright

from slack_batcher import ManualClock, MessageBatcher
from slack_batcher.http import create_app
from slack_batcher.routing.table import parse_routes
from slack_batcher.sources.samples import (
    alert,
    alertmanager_notification,
    github_event,
    signed_request,
)
from slack_batcher.sources.settings import SourcesSettings
from slack_batcher.testing import FakeSlack
from tests.test_dashboard_browser import CHROMIUM, FLAGS
from tests.test_http_harness import TOKEN, free_socket, make_service, server_settings

GH_SECRET = "browser-github-secret-0123456789"
AM_TOKEN = "browser-alertmanager-token-0123"


@pytest.fixture
def url() -> Iterator[str]:
    """A live server with GitHub and Alertmanager enabled, after a few deliveries."""
    clock = ManualClock()
    with FakeSlack(clock=clock, posts_per_second=None) as slack:
        service = make_service(slack, clock)
        batcher: MessageBatcher = service.batcher
        app = create_app(
            service,
            settings=server_settings(dashboard_refresh_seconds=0),
            manage_service=True,
            sources=SourcesSettings.model_validate(
                {"github": {"secret": GH_SECRET}, "alertmanager": {"token": AM_TOKEN}}
            ),
            routes=parse_routes([{"source": "github", "channel": "#dev"}]),
        )
        sock = free_socket()
        host, port = sock.getsockname()
        server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False))
        thread = threading.Thread(
            target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True
        )
        thread.start()
        while not server.started:
            assert thread.is_alive(), "the server did not start"
            time.sleep(0.02)
        base = f"http://{host}:{port}"
        try:
            with httpx.Client(base_url=base, timeout=10) as client:
                for delivery in ("d-1", "d-2"):
                    raw, headers = signed_request(
                        "github",
                        github_event("pull_request", "opened"),
                        GH_SECRET,
                        event="pull_request",
                        delivery=delivery,
                    )
                    client.post("/v1/sources/github", content=raw, headers=headers)
                raw, headers = signed_request("github", {"action": "x"}, "wrong", event="star")
                client.post("/v1/sources/github", content=raw, headers=headers)
                raw, headers = signed_request(
                    "alertmanager", alertmanager_notification([alert("DiskFull")]), AM_TOKEN
                )
                client.post("/v1/sources/alertmanager", content=raw, headers=headers)
            yield base
        finally:
            server.should_exit = True
            thread.join(timeout=30)
            batcher.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "Debian's chromium is required (make test installs it)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield browser
        browser.close()


@pytest.mark.parametrize("width", [1200, 390])
def test_the_dashboard_shows_deliveries_per_source(browser: Browser, url: str, width: int) -> None:
    page = browser.new_page(viewport={"width": width, "height": 1200})
    page.goto(url + "/")
    page.get_by_label("API token").fill(TOKEN)
    page.get_by_role("button", name="Open dashboard").click()
    github = page.locator("#sources tr[data-source='github']")
    expect(github.locator("td[data-label='accepted']")).to_have_text("2")
    expect(github.locator("td[data-label='messages']")).to_have_text("2")
    expect(github.locator("td[data-label='unauthorized']")).to_have_text("1")
    alerts = page.locator("#sources tr[data-source='alertmanager']")
    expect(alerts.locator("td[data-label='unrouted']")).to_have_text("1")
    expect(page.locator("#sources tr[data-source='jira']")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    box = page.locator("#sources").bounding_box()
    assert box is not None and box["x"] + box["width"] <= width
    page.close()
