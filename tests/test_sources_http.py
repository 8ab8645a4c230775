"""The source endpoints through HTTP: signatures, tokens, dedup, ignored events, routing."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from slack_batcher import ManualClock, MessageBatcher
from slack_batcher.http import create_app
from slack_batcher.routing.table import parse_routes
from slack_batcher.sources.samples import (
    alert,
    alertmanager_notification,
    github_event,
    jira_event,
    signed_request,
)
from slack_batcher.sources.settings import SourcesSettings
from slack_batcher.sources.verify import sign
from slack_batcher.testing import FakeSlack
from tests.test_http_harness import AUTH, TOKEN, make_service, server_settings

GH_SECRET = "gh-secret-0123456789"
JIRA_SECRET = "jira-secret-0123456789"
AM_TOKEN = "am-token-0123456789"
ROUTES = [
    {"source": "github", "bot": True, "drop": True},
    {
        "source": "github",
        "event": ["workflow_run", "check_suite", "workflow_job"],
        "channel": "#ci",
    },
    {"source": "github", "repository": "acme/*", "channel": "#dev"},
    {"source": "jira", "channel": "#jira"},
    {"source": "alertmanager", "severity": "critical", "channel": "#oncall", "continue": True},
    {"source": "alertmanager", "channel": "#alerts"},
]


@dataclass
class App:
    client: httpx.AsyncClient
    batcher: MessageBatcher
    clock: ManualClock

    async def github(
        self, event: str, body: Any, *, delivery: str = "", secret: str = GH_SECRET, **headers: str
    ) -> httpx.Response:
        raw, signed = signed_request("github", body, secret, event=event, delivery=delivery)
        return await self.client.post(
            "/v1/sources/github", content=raw, headers={**signed, **headers}
        )

    async def jira(self, body: Any, *, delivery: str = "") -> httpx.Response:
        raw, signed = signed_request("jira", body, JIRA_SECRET, delivery=delivery)
        return await self.client.post("/v1/sources/jira", content=raw, headers=signed)

    async def alertmanager(self, body: Any, token: str = AM_TOKEN) -> httpx.Response:
        raw, signed = signed_request("alertmanager", body, token)
        return await self.client.post("/v1/sources/alertmanager", content=raw, headers=signed)

    def pending(self, channel: str) -> list[str]:
        batches = self.batcher.inspect_pending_batches(channel)["channels"].get(channel)
        if not batches:
            return []
        return [item["id"] for batch in batches["batches"] for item in batch["items"]]

    async def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        text = (await self.client.get("/metrics")).text
        found = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name.startswith("slack_batcher_source"):
                    found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return found


@asynccontextmanager
async def sources_app(
    clock: ManualClock,
    *,
    routes: list[dict[str, Any]] | None = None,
    secrets: dict[str, Any] | None = None,
    **server: Any,
) -> AsyncIterator[App]:
    chosen = (
        secrets
        if secrets is not None
        else {
            "github": {"secret": GH_SECRET},
            "jira": {"secret": JIRA_SECRET},
            "alertmanager": {"token": AM_TOKEN},
        }
    )
    with FakeSlack(clock=clock, posts_per_second=None) as slack:
        service = make_service(slack, clock)
        async with service:
            app = create_app(
                service,
                settings=server_settings(**server),
                sources=SourcesSettings.model_validate(chosen),
                routes=parse_routes(ROUTES if routes is None else routes),
            )
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://testserver"
            ) as client:
                yield App(client, service.batcher, clock)
        service.batcher.close()


PR = github_event("pull_request", "opened", title="Add auth")


# ------------------------------------------------------------------ authentication


async def test_a_signed_github_delivery_is_accepted_and_routed(clock: ManualClock) -> None:
    async with sources_app(clock) as app:
        response = await app.github("pull_request", PR, delivery="d-1")
        assert response.status_code == 202, response.text
        body = response.json()
        assert body["status"] == "accepted"
        assert [(m["id"], m["channel"]) for m in body["messages"]] == [("github:d-1", "#dev")]
        assert app.pending("#dev") == ["github:d-1"]


async def test_the_source_endpoints_need_no_api_token_but_v1_messages_still_does(
    clock: ManualClock,
) -> None:
    async with sources_app(clock) as app:
        assert (await app.github("pull_request", PR)).status_code == 202
        assert (await app.client.get("/v1/stats")).status_code == 401
        assert (await app.client.get("/v1/stats", headers=AUTH)).status_code == 200


async def test_a_wrong_signature_is_401_and_nothing_is_stored(clock: ManualClock) -> None:
    async with sources_app(clock) as app:
        response = await app.github("pull_request", PR, secret="not-the-secret")
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert "does not match" in response.json()["detail"]
        assert app.batcher.get_batch_stats()["messages_received"] == 0


async def test_a_missing_signature_is_401(clock: ManualClock) -> None:
    async with sources_app(clock) as app:
        raw = json.dumps(PR).encode()
        headers = {"X-GitHub-Event": "pull_request", "Content-Type": "application/json"}
        response = await app.client.post("/v1/sources/github", content=raw, headers=headers)
        assert response.status_code == 401
        assert "missing X-Hub-Signature-256" in response.json()["detail"]


async def test_a_signature_with_another_algorithm_is_401_naming_it(clock: ManualClock) -> None:
    async with sources_app(clock) as app:
        raw = json.dumps(PR).encode()
        sha1 = "sha1=" + "0" * 40
        for value, words in (
            (sha1, "only sha256"),
            ("sha256=xyz", "64 hexadecimal"),
            ("abc", "malformed"),
        ):
            headers = {"X-GitHub-Event": "pull_request", "X-Hub-Signature-256": value}
            response = await app.client.post("/v1/sources/github", content=raw, headers=headers)
            assert response.status_code == 401 and words in response.json()["detail"]


async def test_a_body_changed_after_signing_is_refused(clock: ManualClock) -> None:
    async with sources_app(clock) as app:
        raw, headers = signed_request("github", PR, GH_SECRET, event="pull_request")
        stale = raw.replace(b"Add auth", b"Add AUTH")
        response = await app.client.post("/v1/sources/github", content=stale, headers=headers)
        assert response.status_code == 401
        assert app.pending("#dev") == []


async def test_a_source_without_a_secret_is_disabled_not_open(clock: ManualClock) -> None:
    async with sources_app(clock, secrets={"github": {"secret": ""}}) as app:
        for path in ("github", "jira", "alertmanager"):
            response = await app.client.post(f"/v1/sources/{path}", content=b"{}")
            assert response.status_code == 404
            assert "disabled" in response.json()["detail"]
        assert (await app.github("pull_request", PR, secret="")).status_code == 404


async def test_jira_is_verified_with_x_hub_signature(clock: ManualClock) -> None:
    async with sources_app(clock) as app:
        body = jira_event("jira:issue_created", "ACME-7")
        assert (await app.jira(body, delivery="w-1")).status_code == 202
        assert app.pending("#jira") == ["jira:w-1"]
        raw = json.dumps(body).encode()
        bad = {"X-Hub-Signature": sign("wrong", raw)}
        assert (
            await app.client.post("/v1/sources/jira", content=raw, headers=bad)
        ).status_code == 401


async def test_alertmanager_needs_its_bearer_token(clock: ManualClock) -> None:
    async with sources_app(clock) as app:
        body = alertmanager_notification([alert("DiskFull")])
        assert (await app.alertmanager(body, token="wrong")).status_code == 401
        raw = json.dumps(body).encode()
        response = await app.client.post("/v1/sources/alertmanager", content=raw)
        assert response.status_code == 401 and "missing Authorization" in response.json()["detail"]
        assert (await app.alertmanager(body)).status_code == 202
        assert len(app.pending("#alerts")) == 1


async def test_a_body_over_the_limit_is_refused_before_it_is_hashed(clock: ManualClock) -> None:
    async with sources_app(clock, max_body_bytes=2048) as app:
        big = github_event("pull_request", "opened", body="x" * 5000)
        assert (await app.github("pull_request", big)).status_code == 413


# ------------------------------------------------------------------------ behaviour


async def test_a_redelivery_is_recognised_even_after_its_batch_flushed(clock: ManualClock) -> None:
    async with sources_app(clock) as app:
        assert (await app.github("pull_request", PR, delivery="d-7")).json()["status"] == "accepted"
        app.batcher.flush_all_batches()
        again = await app.github("pull_request", PR, delivery="d-7")
        assert again.status_code == 202 and again.json()["status"] == "duplicate"
        assert again.json()["duplicates"] == 1
        assert app.pending("#dev") == []
        assert app.batcher.get_batch_stats()["messages_received"] == 1


async def test_alertmanager_repeat_notifications_of_an_unchanged_alert_are_duplicates(
    clock: ManualClock,
) -> None:
    async with sources_app(clock) as app:
        body = alertmanager_notification([alert("DiskFull"), alert("HighLoad")])
        assert len((await app.alertmanager(body)).json()["messages"]) == 2
        repeat = (await app.alertmanager(body)).json()
        assert repeat["status"] == "duplicate" and repeat["duplicates"] == 2


async def test_critical_alerts_continue_to_both_channels(clock: ManualClock) -> None:
    async with sources_app(clock) as app:
        body = alertmanager_notification([alert("Down", severity="critical")])
        response = (await app.alertmanager(body)).json()
        assert sorted(m["channel"] for m in response["messages"]) == ["#alerts", "#oncall"]


async def test_unknown_events_are_acknowledged_and_counted_in_metrics(clock: ManualClock) -> None:
    async with sources_app(clock) as app:
        for _ in range(2):
            response = await app.github("star", {"action": "created", "sender": {"login": "x"}})
            assert response.status_code == 200 and response.json()["status"] == "ignored"
        labeled = await app.github("pull_request", github_event("pull_request", "labeled"))
        assert labeled.status_code == 200
        ping = await app.github("ping", github_event("ping"))
        assert ping.json() == {
            "status": "pong",
            "source": "github",
            "zen": "Keep it logically awesome.",
        }
        metrics = await app.metrics()
        ignored = "slack_batcher_source_ignored_total"
        assert metrics[(ignored, (("event", "star"), ("source", "github")))] == 2
        assert metrics[(ignored, (("event", "pull_request.labeled"), ("source", "github")))] == 1
        deliveries = "slack_batcher_source_deliveries_total"
        assert metrics[(deliveries, (("outcome", "ignored"), ("source", "github")))] == 4


async def test_unrouted_and_dropped_events_are_202_and_counted(clock: ManualClock) -> None:
    async with sources_app(clock) as app:
        other = github_event("pull_request", "opened", repo="other/repo")
        response = await app.github("pull_request", other)
        assert response.status_code == 202 and response.json()["status"] == "unrouted"
        bot = github_event("pull_request", "opened", sender="dependabot[bot]")
        assert (await app.github("pull_request", bot)).json()["status"] == "dropped"
        metrics = await app.metrics()
        key = (("event", "pull_request.opened"), ("source", "github"))
        assert metrics[("slack_batcher_source_unrouted_total", key)] == 1
        assert metrics[("slack_batcher_source_dropped_total", key)] == 1
        assert app.batcher.get_batch_stats()["messages_received"] == 0


async def test_a_payload_that_lies_about_its_event_is_400_naming_the_field(
    clock: ManualClock,
) -> None:
    async with sources_app(clock) as app:
        response = await app.github(
            "pull_request", {"action": "opened", "pull_request": {"title": "x"}}
        )
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "pull_request.number"
        not_json = await app.github("push", b"{not json")
        assert not_json.status_code == 400
        assert app.batcher.get_batch_stats()["messages_received"] == 0


async def test_github_form_encoded_deliveries_are_read_too(clock: ManualClock) -> None:
    async with sources_app(clock) as app:
        raw = urlencode({"payload": json.dumps(PR)}).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-GitHub-Event": "pull_request",
            "X-GitHub-Delivery": "form-1",
            "X-Hub-Signature-256": sign(GH_SECRET, raw),
        }
        response = await app.client.post("/v1/sources/github", content=raw, headers=headers)
        assert response.status_code == 202 and app.pending("#dev") == ["github:form-1"]


async def test_lone_surrogates_in_a_payload_do_not_break_the_endpoint(clock: ManualClock) -> None:
    async with sources_app(clock) as app:
        raw = json.dumps(PR).replace("Add auth", "Add \\ud800 auth").encode()
        headers = {"X-GitHub-Event": "pull_request", "X-Hub-Signature-256": sign(GH_SECRET, raw)}
        response = await app.client.post("/v1/sources/github", content=raw, headers=headers)
        assert response.status_code == 202


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=25,
)
FIELDS = [
    "action",
    "pull_request",
    "issue",
    "comment",
    "alerts",
    "webhookEvent",
    "number",
    "workflow_run",
    "alert",
    "ref",
    "review",
    "version",
]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    source=st.sampled_from(["github", "jira", "alertmanager"]),
    event=st.sampled_from(
        ["pull_request", "issues", "push", "workflow_run", "dependabot_alert", "x"]
    ),
    payload=JSON | st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=5),
)
async def test_arbitrary_signed_json_never_gets_a_5xx(
    clock: ManualClock, source: str, event: str, payload: Any
) -> None:
    async with sources_app(clock, routes=[{"channel": "#all"}]) as app:
        if source == "jira" and isinstance(payload, dict):
            payload = {"webhookEvent": "jira:issue_created", **payload}
        secret = {"github": GH_SECRET, "jira": JIRA_SECRET, "alertmanager": AM_TOKEN}[source]
        raw, headers = signed_request(source, json.dumps(payload).encode(), secret, event=event)
        response = await app.client.post(f"/v1/sources/{source}", content=raw, headers=headers)
        assert response.status_code in (200, 202, 400), response.text


async def test_v1_messages_may_leave_out_the_channel_when_routes_pick_one(
    clock: ManualClock,
) -> None:
    routes = [
        {"source": "api", "event": "ci_build", "repository": "acme/*", "channel": "#ci"},
        {"source": "api", "severity": "critical", "channels": ["#oncall", "#alerts"]},
    ]
    async with sources_app(clock, routes=routes) as app:
        ci = {"id": "api-1", "content_type": "ci_build", "data": {"repository": "acme/api"}}
        response = await app.client.post("/v1/messages", json=ci, headers=AUTH)
        assert response.status_code == 202, response.text
        assert response.json()["results"][0]["channel"] == "#ci"
        page = {"id": "api-2", "content_type": "alert", "data": {"severity": "critical"}}
        both = await app.client.post("/v1/messages", json=[page], headers=AUTH)
        assert [r["channel"] for r in both.json()["results"]] == ["#oncall", "#alerts"]
        lost = {"id": "api-3", "content_type": "generic", "data": {}}
        refused = await app.client.post("/v1/messages", json=lost, headers=AUTH)
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == "channel"
        assert "no route matches" in refused.json()["detail"]
        named = {**lost, "channel": "#anywhere"}
        assert (await app.client.post("/v1/messages", json=named, headers=AUTH)).status_code == 202


async def test_v1_messages_without_routes_still_needs_the_channel(clock: ManualClock) -> None:
    async with sources_app(clock, routes=[]) as app:
        lost = {"id": "api-3", "content_type": "generic"}
        refused = await app.client.post("/v1/messages", json=lost, headers=AUTH)
        assert refused.status_code == 422
        assert "no [[routes]]" in refused.json()["detail"]


async def test_the_openapi_schema_requires_a_channel_only_without_routes(
    clock: ManualClock,
) -> None:
    async with sources_app(clock) as routed, sources_app(clock, routes=[]) as plain:
        for app, required in ((routed, False), (plain, True)):
            schema = (await app.client.get("/openapi.json")).json()
            model = schema["components"]["schemas"]["MessageIn"]
            assert ("channel" in model["required"]) is required
        assert "/v1/sources/github" in schema["paths"]


async def test_the_dashboard_shows_deliveries_per_source(clock: ManualClock) -> None:
    async with sources_app(clock, secrets={"github": {"secret": GH_SECRET}}) as app:
        await app.github("pull_request", PR)
        await app.github("pull_request", PR, secret="wrong")
        await app.github("star", {"action": "created"})
        await app.client.post("/dashboard/login", data={"token": TOKEN})  # keeps the cookie
        page = (await app.client.get("/")).text
        section = page[page.index('<section id="sources">') :]
        section = section[: section.index("</section>")]
        row = section[section.index('data-source="github"') :]
        row = row[: row.index("</tr>")]
        cells = [re.sub(r"<[^>]*>", "", "<td" + c) for c in row.split("<td")[1:]]
        # source, state, messages, accepted, ignored, duplicate, unrouted, dropped, unauthorized
        assert cells[:9] == ["github", "enabled", "1", "1", "1", "0", "0", "0", "1"]
        assert 'data-source="jira"' not in section


async def test_the_dashboard_says_when_no_source_is_enabled(clock: ManualClock) -> None:
    async with sources_app(clock, secrets={}) as app:
        await app.client.post("/dashboard/login", data={"token": TOKEN})
        assert "No webhook source is enabled" in (await app.client.get("/")).text


async def test_startup_says_which_sources_are_enabled_and_warns_about_routes(
    clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="slack_batcher.http.sources")
    async with sources_app(clock, routes=[{"source": "jira", "channel": "#j"}]):
        pass
    assert "webhook sources enabled: github, jira, alertmanager (1 routes)" in caplog.text
    assert "no catch-all route" in caplog.text
    assert GH_SECRET not in caplog.text
