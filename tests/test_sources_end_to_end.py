"""A new user's setup, end to end: the starter config, three providers' webhooks, Slack posts.

The service is built from ``examples/slack-batcher.toml`` (what ``config init`` writes) and
secrets in the environment, exactly as docs/sources.md says; webhooks are signed as each
provider signs them; posts go through the real slack_sdk client to a FakeSlack.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from slack_batcher import ManualClock, MemoryStore
from slack_batcher.delivery import SlackSender
from slack_batcher.http import create_app
from slack_batcher.http.server import build_service
from slack_batcher.http.settings import load_settings
from slack_batcher.sources.samples import (
    alert,
    alertmanager_notification,
    github_event,
    jira_event,
    signed_request,
)
from slack_batcher.testing import FakeSlack

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "slack-batcher.toml"
SECRETS = {
    "SLACK_BATCHER_SOURCES__GITHUB__SECRET": "github-secret-from-the-env-0123",
    "SLACK_BATCHER_SOURCES__JIRA__SECRET": "jira-secret-from-the-env-0123456",
    "SLACK_BATCHER_SOURCES__ALERTMANAGER__TOKEN": "alertmanager-token-0123456789",
    "SLACK_BATCHER_API_TOKEN": "api-token-for-the-v1-routes-0123",
}


async def test_webhooks_from_three_providers_become_batched_posts_in_the_right_channels(
    clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(EXAMPLE)
    with FakeSlack(clock=clock, posts_per_second=None) as slack:
        sender = SlackSender(slack.token or "xoxb-any", base_url=slack.base_url)
        service = build_service(settings, clock=clock, store=MemoryStore(), sender=sender)
        async with service:
            app = create_app(
                service, settings=settings.server, sources=settings.sources, routes=settings.routes
            )
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="https://hooks") as client:

                async def send(source: str, body: dict[str, object], event: str = "") -> None:
                    secret = SECRETS[
                        f"SLACK_BATCHER_SOURCES__{source.upper()}__"
                        + ("TOKEN" if source == "alertmanager" else "SECRET")
                    ]
                    raw, headers = signed_request(source, body, secret, event=event)
                    response = await client.post(
                        f"/v1/sources/{source}", content=raw, headers=headers
                    )
                    assert response.status_code == 202, response.text

                for action, extra in (("opened", {}), ("closed", {"merged": True})):
                    body = github_event("pull_request", action, title="Add auth", **extra)
                    await send("github", body, "pull_request")
                await send(
                    "github",
                    github_event("pull_request_review", "submitted", sender="bob"),
                    "pull_request_review",
                )
                await send(
                    "github",
                    github_event("workflow_run", "completed", conclusion="failure"),
                    "workflow_run",
                )
                await send("jira", jira_event("jira:issue_created", "ACME-7"))
                await send(
                    "jira",
                    jira_event(
                        "jira:issue_updated", "ACME-7", changes={"status": ("To Do", "Done")}
                    ),
                )
                await send(
                    "alertmanager",
                    alertmanager_notification([alert("DiskFull"), alert("HighLoad")]),
                )
                await service.advance(11 * 60)  # past every window
        service.batcher.close()
        channels = {post.channel for post in slack.posts}
        posted = {channel: slack.posts_in(channel) for channel in channels}

    assert set(posted) == {"#dev-api", "#ci-builds", "#jira-acme", "#alerts"}
    # One post per channel: the starter config posts the first event at once and the rest
    # joins its live digest (its thread; the post is edited while the calls stay within the
    # events). What a reader sees is the post and its thread.
    seen = {ch: " ".join(p.text for p in posts) for ch, posts in posted.items()}
    top = {ch: [p for p in posts if p.thread_ts is None] for ch, posts in posted.items()}
    assert all(len(posts) == 1 for posts in top.values()), top
    assert "Add auth" in top["#dev-api"][0].text
    assert "merged" in seen["#dev-api"] and "approved" in seen["#dev-api"]
    assert "failed" in seen["#ci-builds"]
    assert "ACME-7" in seen["#jira-acme"] and "Done" in seen["#jira-acme"]
    assert "DiskFull" in seen["#alerts"] and "HighLoad" in seen["#alerts"]
