"""Acting from Slack: signed clicks on a digest's controls mute, acknowledge and unmute."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from slack_sdk.signature import SignatureVerifier

from slack_batcher import ManualClock, SQLiteStore
from slack_batcher.http import create_app
from slack_batcher.http.slack_settings import SlackSettings
from slack_batcher.model.control import ControlSigner
from slack_batcher.routing.table import parse_routes
from slack_batcher.runtime.service import BatchingService
from slack_batcher.sources.samples import alert, alertmanager_notification, signed_request
from slack_batcher.sources.settings import SourcesSettings
from slack_batcher.store.base import BatchStore
from slack_batcher.testing import FakeSlack, Post
from tests.conftest import STORE_KINDS
from tests.test_http_harness import AUTH, make_service, server_settings

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
AM_TOKEN = "am-token-0123456789"
URL = "/v1/slack/interactions"
ROUTES = [{"source": "alertmanager", "channel": "#alerts"}]


@dataclass
class App:
    client: httpx.AsyncClient
    service: BatchingService
    slack: FakeSlack
    clock: ManualClock

    async def alerts(self, *alerts: dict[str, Any]) -> dict[str, Any]:
        raw, headers = signed_request(
            "alertmanager", alertmanager_notification(list(alerts)), AM_TOKEN
        )
        response = await self.client.post("/v1/sources/alertmanager", content=raw, headers=headers)
        assert response.status_code == 202, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def parent(self) -> Post:
        top = next(p for p in self.slack.posts_in("#alerts") if not p.is_reply)
        found = self.slack.message("#alerts", top.ts)
        assert found is not None
        return found

    async def click(self, action: str, post: Post | None = None, **options: Any) -> httpx.Response:
        target = post or self.parent()
        return await self.slack.click_async(
            self.client, URL, target, action, signing_secret=SECRET, **options
        )

    async def signed(self, body: bytes, *, age: int = 0) -> httpx.Response:
        stamp = str(int(self.clock.now().timestamp()) - age)
        signature = SignatureVerifier(SECRET).generate_signature(timestamp=stamp, body=body)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature or "",
        }
        return await self.client.post(URL, content=body, headers=headers)

    async def outcomes(self) -> dict[str, float]:
        text = (await self.client.get("/metrics")).text
        return {
            s.labels["outcome"]: s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name == "slack_batcher_slack_interactions_total"
        }


@asynccontextmanager
async def slack_app(
    clock: ManualClock, store: BatchStore, *, secret: str | None = SECRET
) -> AsyncIterator[App]:
    with FakeSlack(clock=clock, posts_per_second=None) as slack:
        service = make_service(slack, clock, store=store)
        async with service:
            app = create_app(
                service,
                settings=server_settings(),
                sources=SourcesSettings.model_validate({"alertmanager": {"token": AM_TOKEN}}),
                routes=parse_routes(ROUTES),
                slack=SlackSettings(
                    signing_secret=SecretStr(secret) if secret else None,
                    response_url_prefixes=[slack.url],
                ),
            )
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                yield App(client, service, slack, clock)
        service.batcher.close()


async def _posted(app: App) -> Post:
    await app.alerts(alert("HighErrorRate"), alert("DiskFull"))
    await app.service.advance(6 * 60)
    return app.parent()


def _buttons(post: Post) -> list[str]:
    return [e["action_id"] for b in post.blocks if b["type"] == "actions" for e in b["elements"]]


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
async def test_a_click_on_mute_silences_the_digest_while_another_group_still_posts(
    kind: str, clock: ManualClock, tmp_path: Path
) -> None:
    async with slack_app(clock, STORE_KINDS[kind](tmp_path)) as app:
        post = await _posted(app)
        assert _buttons(post) == ["sb:mute:60", "sb:mute:240", "sb:mute:1440", "sb:ack", "sb:line"]
        response = await app.click("sb:mute:60", user="U0ANA", user_name="ana")
        assert response.status_code == 200, response.text
        [confirmation] = app.slack.responses
        assert confirmation["response_type"] == "ephemeral"
        assert "Muted `digest:alert:api`" in confirmation["text"]
        edited = app.parent()
        assert "muted until" in edited.text
        assert "sb:unmute" in _buttons(edited)
        posts_before = len(app.slack.posts)
        answer = await app.alerts(
            alert("HighErrorRate", starts_at="2026-03-02T09:20:00Z"),
            alert("Latency", service="web", starts_at="2026-03-02T09:20:00Z"),
        )
        assert answer["muted"] == 1
        await app.service.advance(6 * 60)
        new = app.slack.posts[posts_before:]
        assert [p.channel for p in new] == ["#alerts"] and "Latency" in new[0].text
        assert "HighErrorRate" not in new[0].text
        listed = (await app.client.get("/v1/mutes", headers=AUTH)).json()["mutes"]
        assert [(m["scope"], m["created_by"], m["muted_events"]) for m in listed] == [
            ("digest:alert:api", "U0ANA", 1)
        ]
        # Unmute from the same post: the flow resumes.
        assert (await app.click("sb:unmute")).status_code == 200
        assert "Unmuted" in app.slack.responses[-1]["text"]
        answer = await app.alerts(alert("HighErrorRate", starts_at="2026-03-02T09:40:00Z"))
        assert answer["muted"] == 0
        assert (await app.outcomes())["accepted"] == 2


async def test_acknowledge_names_the_user_and_a_refiring_alert_clears_it(
    clock: ManualClock, tmp_path: Path
) -> None:
    async with slack_app(clock, SQLiteStore(tmp_path / "s.db")) as app:
        await _posted(app)
        assert (await app.click("sb:ack", user="U0BOB")).status_code == 200
        acked = app.parent()
        assert "acknowledged by <@U0BOB>" in json.dumps(acked.blocks)
        assert "sb:ack" not in _buttons(acked)
        # HighErrorRate resolves, then fires again: the acknowledgement no longer shows.
        await app.alerts(
            alert("HighErrorRate", status="resolved", starts_at="2026-03-02T09:00:00Z")
        )
        clock.advance(60)
        await app.alerts(alert("HighErrorRate", starts_at="2026-03-02T09:08:00Z"))
        await app.service.advance(6 * 60)
        again = app.parent()
        assert "acknowledged by" not in json.dumps(again.blocks)
        assert "sb:ack" in _buttons(again)


async def test_forged_stale_replayed_and_wrong_requests_are_refused(
    clock: ManualClock, tmp_path: Path
) -> None:
    async with slack_app(clock, SQLiteStore(tmp_path / "s.db")) as app:
        post = await _posted(app)
        # A forged signature (another secret), and a stale one (6 minutes old).
        body, headers = app.slack.click_request(post, "sb:mute:60", signing_secret="not-it")
        assert (await app.client.post(URL, content=body, headers=headers)).status_code == 401
        stale = int(clock.now().timestamp()) - 6 * 60
        assert (await app.click("sb:mute:60", timestamp=stale)).status_code == 401
        del headers["X-Slack-Signature"]
        assert (await app.client.post(URL, content=body, headers=headers)).status_code == 401
        # A replay of a genuine click.
        body, headers = app.slack.click_request(post, "sb:ack", signing_secret=SECRET)
        assert (await app.client.post(URL, content=body, headers=headers)).status_code == 200
        replay = await app.client.post(URL, content=body, headers=headers)
        assert replay.status_code == 401 and "replay" in replay.text
        # A forged scope: a value signed by someone else, or edited.
        other = ControlSigner("another-secret").value("mute:1440", "#alerts", "*", "alert:x")
        forged = await app.click("sb:mute:1440", value=other)
        assert forged.status_code == 403 and "signed" in forged.text
        genuine = next(
            e["value"] for b in post.blocks if b["type"] == "actions" for e in b["elements"]
        )
        assert (await app.click("sb:mute:60", value=genuine[:-2] + "AA")).status_code == 403
        # A click from a channel the digest is not in.
        elsewhere = await app.click("sb:mute:60", channel="#random")
        assert elsewhere.status_code == 403 and "another channel" in elsewhere.text
        # Malformed and oversized bodies; an action that is not ours; another payload type.
        assert (await app.signed(b"payload=%7Bnot-json")).status_code == 400
        assert (await app.signed(b"nothing=here")).status_code == 400
        no_user = urlencode({"payload": json.dumps({"type": "block_actions", "actions": []})})
        bad = await app.signed(no_user.encode())
        assert bad.status_code == 400 and "user" in bad.text
        assert (await app.signed(b"payload=" + b"x" * 300_000)).status_code == 413
        theirs = {
            "type": "block_actions",
            "user": {"id": "U1"},
            "channel": {"id": "#alerts"},
            "container": {"message_ts": post.ts},
            "actions": [{"action_id": "someone_elses", "value": "1"}],
        }
        body = urlencode({"payload": json.dumps(theirs)}).encode()
        assert (await app.signed(body)).status_code == 200
        shortcut = urlencode({"payload": json.dumps({"type": "shortcut"})}).encode()
        assert (await app.signed(shortcut)).status_code == 200
        outcomes = await app.outcomes()
        assert outcomes["unauthorized"] == 3 and outcomes["replayed"] == 1
        assert outcomes["refused"] == 3 and outcomes["malformed"] == 3
        assert outcomes["too_large"] == 1 and outcomes["unknown"] == 1
        assert outcomes["ignored"] == 1 and outcomes["accepted"] == 1
        # Nothing refused changed anything: only the genuine acknowledgement is kept.
        kept = (await app.client.get("/v1/mutes?all=true", headers=AUTH)).json()["mutes"]
        assert [m["kind"] for m in kept] == ["ack"]


async def test_without_a_signing_secret_the_route_is_404_and_posts_have_no_controls(
    clock: ManualClock, tmp_path: Path
) -> None:
    async with slack_app(clock, SQLiteStore(tmp_path / "s.db"), secret=None) as app:
        post = await _posted(app)
        assert _buttons(post) == []
        response = await app.client.post(URL, content=b"payload=%7B%7D")
        assert response.status_code == 404 and "signing_secret" in response.text


def test_slack_manifest_prints_an_app_with_the_fewest_scopes_and_the_request_url() -> None:
    from click.testing import CliRunner

    from slack_batcher.cli.commands import main

    result = CliRunner().invoke(main, ["slack", "manifest", "--url", "https://hooks.acme.io/"])
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.output)
    assert manifest["oauth_config"]["scopes"]["bot"] == ["chat:write"]
    assert manifest["settings"]["interactivity"] == {
        "is_enabled": True,
        "request_url": "https://hooks.acme.io/v1/slack/interactions",
    }
    assert manifest["features"]["bot_user"]["display_name"] == "slack-batcher"
    wide = CliRunner().invoke(
        main,
        ["slack", "manifest", "--url", "https://x.io", "--public-channels", "--lookup-emails",
         "--no-interactivity"],
    )  # fmt: skip
    built = json.loads(wide.output)
    assert built["oauth_config"]["scopes"]["bot"] == [
        "chat:write", "chat:write.public", "users:read", "users:read.email"
    ]  # fmt: skip
    assert "interactivity" not in built["settings"]
    refused = CliRunner().invoke(main, ["slack", "manifest", "--url", "http://x.io"])
    assert refused.exit_code == 2 and "https" in refused.output


async def test_the_line_menu_mutes_one_alert_of_a_mixed_digest(
    clock: ManualClock, tmp_path: Path
) -> None:
    async with slack_app(clock, SQLiteStore(tmp_path / "s.db")) as app:
        post = await _posted(app)
        [menu] = [
            e
            for b in post.blocks
            if b["type"] == "actions"
            for e in b["elements"]
            if e["type"] == "overflow"
        ]
        labels = {o["text"]["text"]: o["value"] for o in menu["options"]}
        assert set(labels) == {"Mute alert:higherrorrate/api 4 h", "Mute alert:diskfull/api 4 h"}
        assert all(len(value) <= 150 for value in labels.values())  # Block Kit's limit
        chosen = labels["Mute alert:diskfull/api 4 h"]
        assert (await app.click("sb:line", option=chosen)).status_code == 200
        listed = (await app.client.get("/v1/mutes", headers=AUTH)).json()["mutes"]
        assert [m["scope"] for m in listed] == ["alert:diskfull/api"]
        answer = await app.alerts(
            alert("DiskFull", starts_at="2026-03-02T09:30:00Z"),
            alert("HighErrorRate", starts_at="2026-03-02T09:30:00Z"),
        )
        assert [bool(m.get("muted")) for m in answer["messages"]] == [True, False]
        forged = await app.click("sb:line", option=chosen, value=chosen[:-3] + "abc")
        assert forged.status_code == 403


async def test_on_redis_a_click_through_one_instance_mutes_on_the_other(
    clock: ManualClock, tmp_path: Path
) -> None:
    async with slack_app(clock, STORE_KINDS["redis"](tmp_path)) as one:
        post = await _posted(one)
        assert (await one.click("sb:mute:60", post, user="U0ANA")).status_code == 200
        # The second instance starts once the post is out, so the first one posted it.
        async with slack_app(clock, STORE_KINDS["redis"](tmp_path)) as two:
            answer = await two.alerts(
                alert("HighErrorRate", starts_at="2026-03-02T09:30:00Z"),
                alert("Latency", service="web", starts_at="2026-03-02T09:30:00Z"),
            )
            assert [bool(m.get("muted")) for m in answer["messages"]] == [True, False]
            # A replay of a click to the other instance is refused there too.
            body, headers = one.slack.click_request(post, "sb:ack", signing_secret=SECRET)
            assert (await one.client.post(URL, content=body, headers=headers)).status_code == 200
            replay = await two.client.post(URL, content=body, headers=headers)
            assert replay.status_code == 401 and "replay" in replay.text
