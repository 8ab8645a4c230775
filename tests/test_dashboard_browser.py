"""The dashboard in a real browser: Debian's headless Chromium driven by Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from tests.test_http_harness import TOKEN, LiveServer, event

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "Debian's chromium is required (.ci/run installs it)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def server() -> Iterator[LiveServer]:
    with LiveServer(channels=["#dev-api", "#ci"], dashboard_refresh_seconds=0) as live:
        yield live


def open_dashboard(browser: Browser, server: LiveServer) -> Page:
    page = browser.new_page(viewport={"width": 1200, "height": 1600})
    page.on("dialog", lambda dialog: pytest.fail(f"a script ran: {dialog.message}"))
    page.goto(server.url + "/")
    page.get_by_label("API token").fill(TOKEN)
    page.get_by_role("button", name="Open dashboard").click()
    expect(page.locator("h1")).to_have_text("slack-batcher")
    return page


def test_dashboard_shows_pending_batches_with_previews_and_flushes_and_replays(
    browser: Browser, server: LiveServer
) -> None:
    with server.client() as client:
        client.post(
            "/v1/messages",
            json=[
                event("gh-1", title="Add auth"),
                event("gh-2", title="<script>alert(1)</script> *and* <!channel>"),
                event("ci-1", "#ci", content_type="ci_build", title="lint failed on main"),
                event("lost-1", "#gone", title="Goes nowhere"),
            ],
        ).raise_for_status()
        client.post("/v1/flush", params={"channel": "#gone"}).raise_for_status()
    server.wait_for(lambda: server.batcher.dead_letters())

    page = open_dashboard(browser, server)
    batches = page.locator("article.batch")
    expect(batches).to_have_count(2)
    dev = batches.filter(has_text="#dev-api")
    expect(dev.locator(".sb-message")).to_contain_text("Add auth")
    expect(dev.locator(".sb-message")).to_contain_text("<script>alert(1)</script>")
    expect(page.locator("#channels tr[data-channel='#dev-api']")).to_contain_text("in 5m")
    expect(page.locator("#health")).to_contain_text("stuck_batches")
    expect(page.locator("#dead-letters")).to_contain_text("channel_not_found")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    before = len(server.slack.posts_in("#ci"))
    batches.filter(has_text="#ci").get_by_role("button", name="Flush now").click()
    expect(page.locator(".notice")).to_contain_text("Flushed 1 batch")
    expect(page.locator("article.batch")).to_have_count(1)
    server.slack.wait_for_posts(before + 1, channel="#ci")
    page.reload()
    expect(page.locator("#recent .sb-message").first).to_contain_text("lint failed on main")

    letters = page.locator("#dead-letters tr[data-letter-id]")
    expect(letters).to_have_count(1)
    letters.get_by_role("button", name="Replay").click()
    expect(page.locator(".notice")).to_contain_text("Re-queued 1 message")
    expect(page.locator("#dead-letters tr[data-letter-id]")).to_have_count(0)
    expect(page.locator("article.batch").filter(has_text="#gone")).to_have_count(1)

    page.get_by_role("button", name="Flush all").click()
    expect(page.locator("article.batch")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "dashboard-after-flush.png"), full_page=True)
    page.close()


def test_without_the_token_the_dashboard_shows_only_the_login(
    browser: Browser, server: LiveServer
) -> None:
    page = browser.new_page()
    page.goto(server.url + "/")
    expect(page.get_by_label("API token")).to_be_visible()
    page.get_by_label("API token").fill("wrong")
    page.get_by_role("button", name="Open dashboard").click()
    expect(page.locator(".notice.error")).to_contain_text("not the API token")
    expect(page.locator("article.batch")).to_have_count(0)
    page.close()


def test_on_a_390_px_phone_the_dashboard_fits_and_counts_delivered_and_dead_letters_apart(
    browser: Browser, server: LiveServer
) -> None:
    with server.client() as client:
        client.post(
            "/v1/messages",
            json=[
                event("ok-1", title="Add auth"),
                event("ok-2", title="Fix the ingest path"),
                event("lost-1", "#release-engineering-notifications", title="Goes nowhere"),
                event("lost-2", "#release-engineering-notifications", title="Nor this"),
                event("wait-1", "#ci", content_type="ci_build", title="lint failed on main"),
            ],
        ).raise_for_status()
        client.post("/v1/flush", params={"channel": "#dev-api"}).raise_for_status()
        client.post(
            "/v1/flush", params={"channel": "#release-engineering-notifications"}
        ).raise_for_status()
    server.wait_for(lambda: server.batcher.dead_letters())
    server.wait_for(lambda: server.batcher.get_batch_stats()["outbox_pending"] == 0)

    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page.goto(server.url + "/")
    page.get_by_label("API token").fill(TOKEN)
    page.get_by_role("button", name="Open dashboard").click()
    expect(page.locator("#health")).to_contain_text("stuck_batches")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-390px.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for selector in ("#health table", "#summary", "#channels", "#dead-letters"):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, selector

    summary = page.locator("#summary")
    expect(summary.locator("[data-figure='messages delivered'] b")).to_have_text("2")
    expect(summary.locator("[data-figure='messages dead-lettered'] b")).to_have_text("2")
    expect(summary.locator("[data-figure='Slack posts'] b")).to_have_text("1")
    # The batcher's figure, as /v1/stats and /metrics: 4 messages flushed in 2 batches.
    saved = str(server.batcher.get_batch_stats()["api_posts_saved"])
    assert saved == "2"
    expect(summary.locator("[data-figure='posts saved'] b")).to_have_text(saved)
    lost = page.locator("#channels tr[data-channel='#release-engineering-notifications']")
    expect(lost.locator("td[data-label='posts delivered']")).to_have_text("0")
    expect(lost.locator("td[data-label='in dead letters']")).to_have_text("2")
    dev = page.locator("#channels tr[data-channel='#dev-api']")
    expect(dev.locator("td[data-label='posts delivered']")).to_have_text("1")
    expect(dev.locator("td[data-label='in dead letters']")).to_have_text("0")
    page.close()


def test_api_docs_render_offline_from_this_server_alone(
    browser: Browser, server: LiveServer
) -> None:
    page = browser.new_page()
    elsewhere: list[str] = []

    def only_this_server(route: Route) -> None:
        if route.request.url.startswith(server.url):
            route.continue_()
        else:  # an air-gapped host: no CDN, no fonts, no validator
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_server)
    page.goto(server.url + "/docs")
    operation = page.locator(".opblock-summary-path[data-path='/v1/messages']")
    expect(operation.first).to_be_visible(timeout=20_000)
    expect(page.locator(".title").first).to_contain_text("slack-batcher")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "api-docs.png"))
    assert elsewhere == []
    page.close()
