"""Mutes: a muted event is accepted, kept and counted, never posted, never lost."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from slack_batcher import BatchableMessage, ContentType, ManualClock, SQLiteStore
from slack_batcher.http import create_app
from slack_batcher.model.mute import (
    Mute,
    MutedEvent,
    common_scope,
    message_scopes,
    parse_scope,
)
from slack_batcher.routing.table import parse_routes
from slack_batcher.runtime.service import BatchingService
from slack_batcher.sources.samples import alert, alertmanager_notification, signed_request
from slack_batcher.sources.settings import SourcesSettings
from slack_batcher.store.base import BatchStore
from slack_batcher.testing import FakeSlack
from tests.conftest import STORE_KINDS, StoreFactory
from tests.test_http_harness import AUTH, TOKEN, event, make_service, server_settings

AM_TOKEN = "am-token-0123456789"
ROUTES = [
    {"source": "alertmanager", "severity": "critical", "channel": "#oncall"},
    {"source": "alertmanager", "name": "alerts", "channel": "#alerts"},
]


def _alert_message(name: str, service: str = "api", priority: str = "medium") -> BatchableMessage:
    return BatchableMessage(
        id=f"{name}-{service}",
        content_type=ContentType.ALERT,
        priority=priority,
        data={"alertname": name, "service": service},
    )


# ------------------------------------------------------------------ the model


def test_scopes_are_normalised_and_bad_ones_name_the_problem() -> None:
    assert parse_scope("  Alert:HighErrorRate/API ") == "alert:higherrorrate/api"
    assert parse_scope("pr:acme/api#42") == "pr:acme/api#42"
    assert parse_scope("jira: ACME-7") == "jira:acme-7"
    for bad in ("nothing", "team:x", "alert:", "alert : x", "digest:  "):
        with pytest.raises(ValueError, match=r"scope|alert|pull request|value"):
            parse_scope(bad)


def test_a_mute_covers_its_alert_not_others_and_not_critical_unless_it_says_so(
    clock: ManualClock,
) -> None:
    now = clock.now()
    mute = Mute("m-1", "alert:higherrorrate", "ana", now, now + timedelta(hours=1))
    firing = _alert_message("HighErrorRate")
    other = _alert_message("DiskFull")
    critical = _alert_message("HighErrorRate", priority="critical")
    assert mute.covers(firing, "#a", message_scopes(firing), now)
    assert not mute.covers(other, "#a", message_scopes(other), now)
    assert not mute.covers(critical, "#a", message_scopes(critical), now)
    all_of_it = Mute("m-2", "alert:higherrorrate", "ana", now, now + timedelta(hours=1),
                     covers_critical=True)  # fmt: skip
    assert all_of_it.covers(critical, "#a", message_scopes(critical), now)
    assert not mute.covers(firing, "#a", message_scopes(firing), now + timedelta(hours=1))
    in_one = Mute("m-3", "alert:higherrorrate", "ana", now, now + timedelta(hours=1), channel="#b")
    assert not in_one.covers(firing, "#a", message_scopes(firing), now)


def test_a_mixed_digest_key_mutes_every_key_it_stands_for(clock: ManualClock) -> None:
    now = clock.now()
    mute = Mute("m-1", "digest:alert:*", "ana", now, now + timedelta(hours=1))
    message = _alert_message("X", "payments")
    assert mute.covers(message, "#a", message_scopes(message, "alert:payments"), now)
    assert not mute.covers(message, "#a", message_scopes(message, "pr_update:acme"), now)


def test_a_digest_holding_several_types_is_muted_for_each(clock: ManualClock) -> None:
    now = clock.now()
    data = {"repository": "acme/api", "number": 7}
    pr = BatchableMessage(id="pr", content_type=ContentType.PR_UPDATE, data=data)
    push = BatchableMessage(id="push", content_type=ContentType.GENERIC, data=data)
    scope = common_scope([pr, push], "pr_update:acme/api")  # a push joined the PR digest
    mute = Mute("m-1", scope, "ana", now, now + timedelta(hours=1))
    assert mute.covers(push, "#a", message_scopes(push, "generic:acme/api"), now)
    assert mute.covers(pr, "#a", message_scopes(pr, "pr_update:acme/api"), now)
    merge = replace(push, id="merge", metadata={"thread_key": "pr:acme/api#7"})
    of_the_pr = Mute("m-2", "pr:acme/api#7", "ana", now, now + timedelta(hours=1))
    assert of_the_pr.covers(merge, "#a", message_scopes(merge), now)  # muted with its PR
    assert not of_the_pr.covers(push, "#a", message_scopes(push), now)
    alone = common_scope(
        [pr, replace(pr, id="pr2", data={**data, "number": 8})], "pr_update:acme/api"
    )
    assert alone == "digest:pr_update:acme/api"  # one type: the key as it is


@given(name=st.text(min_size=1, max_size=20).filter(str.strip), service=st.text(max_size=20))
def test_every_alert_is_covered_by_a_mute_of_its_own_name(name: str, service: str) -> None:
    message = _alert_message(name, service)
    scopes = message_scopes(message)
    assert f"alert:{name.strip().lower()}" in scopes


# ------------------------------------------------------------------ every store


def test_mutes_and_muted_events_are_kept_by_every_store(
    store_factory: StoreFactory, clock: ManualClock
) -> None:
    store = store_factory()
    mutes = store.mutes()  # type: ignore[attr-defined]
    now = clock.now()
    mute = Mute("m-1", "alert:x", "ana", now, now + timedelta(hours=1), reason="flapping")
    mutes.add(mute)
    assert mutes.active(now) == [mute]
    assert mutes.active(now + timedelta(hours=2)) == []
    events = [MutedEvent("m-1", "#a", _alert_message("x", str(n)), now, "r") for n in range(3)]
    mutes.record(events)
    assert mutes.counts() == {("m-1", "#a"): 3}
    assert [e.message.id for e in mutes.events("m-1")] == ["x-0", "x-1", "x-2"]
    assert mutes.remove("m-1") == mute
    assert mutes.remove("m-1") is None
    assert mutes.listed() == []
    assert mutes.counts() == {("m-1", "#a"): 3}  # the events stay accounted for
    store.close()


def test_sqlite_keeps_mutes_across_a_restart(tmp_path: Path, clock: ManualClock) -> None:
    now = clock.now()
    store = SQLiteStore(tmp_path / "s.db")
    store.mutes().add(Mute("m-1", "alert:x", "ana", now, now + timedelta(hours=1)))
    store.mutes().record([MutedEvent("m-1", "#a", _alert_message("x"), now)])
    store.close()
    again = SQLiteStore(tmp_path / "s.db")
    assert [m.id for m in again.mutes().active(now)] == ["m-1"]
    assert again.mutes().counts() == {("m-1", "#a"): 1}
    again.close()


# ------------------------------------------------------------------ through the service


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
        body: dict[str, Any] = response.json()
        return body

    async def mute(self, **body: Any) -> dict[str, Any]:
        response = await self.client.post("/v1/mutes", json=body, headers=AUTH)
        assert response.status_code == 201, response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def stats(self) -> dict[str, Any]:
        answer: dict[str, Any] = (await self.client.get("/v1/stats", headers=AUTH)).json()
        return answer

    async def muted_metric(self) -> dict[tuple[str, str], float]:
        text = (await self.client.get("/metrics")).text
        return {
            (s.labels["route"], s.labels["channel"]): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name == "slack_batcher_muted_events_total"
        }

    def texts(self, channel: str) -> str:
        return "\n".join(p.text for p in self.slack.posts_in(channel))


@asynccontextmanager
async def muting_app(clock: ManualClock, store: BatchStore) -> AsyncIterator[App]:
    with FakeSlack(clock=clock, posts_per_second=None) as slack:
        service = make_service(slack, clock, store=store)
        async with service:
            app = create_app(
                service,
                settings=server_settings(),
                sources=SourcesSettings.model_validate({"alertmanager": {"token": AM_TOKEN}}),
                routes=parse_routes(ROUTES),
            )
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                yield App(client, service, slack, clock)
        service.batcher.close()


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
async def test_a_muted_alert_is_kept_and_counted_while_another_still_posts(
    kind: str, clock: ManualClock, tmp_path: Path
) -> None:
    async with muting_app(clock, STORE_KINDS[kind](tmp_path)) as app:
        mute = await app.mute(scope="alert:HighErrorRate", minutes=60, by="ana", reason="flap")
        assert mute["active"] and mute["created_by"] == "ana"
        answer = await app.alerts(alert("HighErrorRate"), alert("DiskFull"))
        assert answer["status"] == "accepted" and answer["muted"] == 1
        muted = [m for m in answer["messages"] if m.get("muted")]
        assert [m["muted"] for m in muted] == [mute["id"]]
        await app.service.advance(6 * 60)
        posted = app.texts("#alerts")
        assert "DiskFull" in posted and "HighErrorRate" not in posted
        # A critical alert of the muted group still posts: the mute does not cover critical.
        await app.alerts(
            alert("HighErrorRate", severity="critical", starts_at="2026-03-02T10:00:00Z")
        )
        await app.service.advance(6 * 60)
        assert "HighErrorRate" in app.texts("#oncall")
        assert await app.muted_metric() == {("routes[1] (alerts)", "#alerts"): 1.0}
        listed = (await app.client.get("/v1/mutes", headers=AUTH)).json()["mutes"]
        assert [(m["id"], m["muted_events"]) for m in listed] == [(mute["id"], 1)]
        stats = await app.stats()
        assert stats["muted"]["events"] == 1 and stats["muted"]["active_mutes"] == 1


async def test_the_flow_resumes_when_the_mute_expires_or_is_removed(
    clock: ManualClock, tmp_path: Path
) -> None:
    async with muting_app(clock, SQLiteStore(tmp_path / "s.db")) as app:
        mute = await app.mute(scope="alert:HighErrorRate/api", minutes=10)
        await app.alerts(alert("HighErrorRate", starts_at="2026-03-02T09:00:00Z"))
        await app.alerts(alert("HighErrorRate", service="web", starts_at="2026-03-02T09:00:00Z"))
        clock.advance(11 * 60)  # the mute ended
        answer = await app.alerts(alert("HighErrorRate", starts_at="2026-03-02T09:30:00Z"))
        assert answer["muted"] == 0
        second = await app.mute(scope="alert:DiskFull", minutes=60)
        await app.alerts(alert("DiskFull", starts_at="2026-03-02T09:31:00Z"))
        removed = await app.client.delete(f"/v1/mutes/{second['id']}", headers=AUTH)
        assert removed.status_code == 200 and removed.json()["muted_events"] == 1
        assert (
            await app.client.delete(f"/v1/mutes/{second['id']}", headers=AUTH)
        ).status_code == 404
        answer = await app.alerts(alert("DiskFull", starts_at="2026-03-02T09:40:00Z"))
        assert answer["muted"] == 0
        await app.service.advance(6 * 60)
        stats = await app.stats()
        # Every accepted event is accounted for: batched (and delivered) or kept as muted.
        assert stats["muted"]["events"] == 2
        assert stats["messages_batched"] + stats["muted"]["events"] == 5
        shown = (await app.client.get(f"/v1/mutes/{mute['id']}", headers=AUTH)).json()
        assert [e["message"]["data"]["service"] for e in shown["events"]] == ["api"]


async def test_v1_messages_reports_a_muted_event_and_bad_mutes_name_the_field(
    clock: ManualClock,
) -> None:
    async with muting_app(clock, STORE_KINDS["memory"](Path("."))) as app:
        await app.mute(scope="pr:acme/api#42", channel="#dev-api")
        response = await app.client.post(
            "/v1/messages", json=[event("e-1"), event("e-2", number=7)], headers=AUTH
        )
        body = response.json()
        assert response.status_code == 202 and body["accepted"] == 2 and body["muted"] == 1
        assert [(r["id"], bool(r["muted"])) for r in body["results"]] == [
            ("e-1", True),
            ("e-2", False),
        ]
        for bad, field in (
            ({"scope": "everything"}, "scope"),
            ({"scope": "alert:x", "minutes": 0}, "minutes"),
            ({"scope": "alert:x", "minutes": 60 * 24 * 31}, "minutes"),
        ):
            response = await app.client.post("/v1/mutes", json=bad, headers=AUTH)
            assert response.status_code in (400, 422), response.text
            assert field in response.text
        assert (await app.client.get("/v1/mutes")).status_code == 401


def test_the_mutes_command_adds_lists_and_removes(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from slack_batcher.cli.commands import main
    from tests.test_http_harness import TOKEN, LiveServer

    def run(*args: str) -> str:
        env = {"SLACK_BATCHER_API_TOKEN": TOKEN}
        result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    with LiveServer(channels=["#dev-api"]) as live:
        added = run("mutes", "add", "pr:acme/api#42", "--for", "90", "--by", "ana",
                    "--reason", "noisy", "--url", live.url)  # fmt: skip
        mute_id = added.split(":")[0]
        assert mute_id.startswith("m-") and "pr:acme/api#42 muted in every channel" in added
        data = '{"repository": "acme/api", "number": 42}'
        sent = run("send", "--url", live.url, "--channel", "#dev-api", "--type", "pr_update",
                   "--id", "cli-9", "--data", data)  # fmt: skip
        assert f"cli-9: accepted and kept: muted by {mute_id}" in sent
        listed = json.loads(run("mutes", "list", "--json", "--url", live.url))
        assert [(m["id"], m["muted_events"], m["created_by"]) for m in listed] == [
            (mute_id, 1, "ana")
        ]
        assert mute_id in run("mutes", "list", "--url", live.url)
        assert "kept 1 events" in run("mutes", "remove", mute_id, "--url", live.url)
        assert run("mutes", "list", "--json", "--url", live.url).strip() == "[]"
        stats = json.loads(run("stats", "--json", "--url", live.url))
        assert stats["muted_events"] == 1


async def test_the_digest_says_what_is_muted_until_when_and_by_whom(
    clock: ManualClock, tmp_path: Path
) -> None:
    async with muting_app(clock, SQLiteStore(tmp_path / "s.db")) as app:
        await app.alerts(alert("HighErrorRate"), alert("DiskFull"))
        await app.service.advance(6 * 60)
        [parent] = app.slack.posts_in("#alerts")
        await app.mute(scope="alert:DiskFull", minutes=60, by="U0ANA")
        await app.alerts(alert("DiskFull", starts_at="2026-03-02T09:10:00Z"))
        await app.alerts(alert("HighErrorRate", starts_at="2026-03-02T09:11:00Z"))
        await app.service.advance(6 * 60)
        top = [p for p in app.slack.posts_in("#alerts") if not p.is_reply]
        assert [p.ts for p in top] == [parent.ts]  # the muted alert made no new post
        # 3 events paid for no edit (the call budget): the parent catches up once its key
        # goes quiet, before the digest closes.
        await app.service.advance(30 * 60)
        edited = app.slack.message("#alerts", parent.ts)
        assert edited is not None
        assert "1 muted until" in edited.text and "alert:diskfull" in edited.text
        context = [b for b in edited.blocks if b["type"] == "context"][-1]
        line = context["elements"][0]["text"]
        assert "by <@U0ANA>" in line and "<!date^" in line
        replies = "\n".join(p.text for p in app.slack.posts_in("#alerts") if p.is_reply)
        assert "09:10" not in replies  # the muted DiskFull is in no reply


async def test_the_dashboard_lists_the_mutes_in_force(clock: ManualClock) -> None:
    async with muting_app(clock, STORE_KINDS["memory"](Path("."))) as app:
        await app.mute(scope="alert:HighErrorRate", minutes=30, by="ana <b>")
        await app.alerts(alert("HighErrorRate"))
        await app.client.post("/dashboard/login", data={"token": TOKEN})
        page = (await app.client.get("/")).text
        assert "1 muted until 09:30 UTC by ana &lt;b&gt; (alert:higherrorrate)" in page
        assert "1 events kept out of Slack" in page


async def test_on_redis_a_mute_made_through_one_instance_applies_on_the_other(
    clock: ManualClock, tmp_path: Path
) -> None:
    async with (
        muting_app(clock, STORE_KINDS["redis"](tmp_path)) as one,
        muting_app(clock, STORE_KINDS["redis"](tmp_path)) as two,
    ):
        mute = await one.mute(scope="alert:HighErrorRate/api", minutes=60, by="ana")
        answer = await two.alerts(alert("HighErrorRate"), alert("HighErrorRate", service="web"))
        assert answer["muted"] == 1
        assert await two.muted_metric() == {("routes[1] (alerts)", "#alerts"): 1.0}
        assert (await one.stats())["muted"]["events"] == 1  # counted for every instance
        listed = (await one.client.get("/v1/mutes", headers=AUTH)).json()["mutes"]
        assert [(m["id"], m["muted_events"]) for m in listed] == [(mute["id"], 1)]
        assert (await two.client.delete(f"/v1/mutes/{mute['id']}", headers=AUTH)).is_success
        answer = await two.alerts(alert("HighErrorRate", starts_at="2026-03-02T09:20:00Z"))
        assert answer["muted"] == 0


def test_a_version_4_file_gains_the_mute_tables_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: ManualClock
) -> None:
    from slack_batcher.store.sqlite import schema

    path = tmp_path / "store.db"
    with monkeypatch.context() as patch:
        patch.delitem(schema.MIGRATIONS, 5)
        patch.setattr(schema, "SCHEMA_VERSION", 4)
        with SQLiteStore(path) as old:
            old.set_thread("k", "1.0", clock.now() + timedelta(days=1))
    with SQLiteStore(path) as store:
        assert store.get_thread("k", clock.now()) == "1.0"
        now = clock.now()
        store.mutes().add(Mute("m-1", "alert:x", "ana", now, now + timedelta(hours=1)))
        assert [m.id for m in store.mutes().listed()] == ["m-1"]
