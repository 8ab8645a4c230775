"""The HTTP API through an HTTP client: ingest, control, inspection, auth, limits, errors."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from slack_batcher import (
    BatchableMessage,
    BatchGroup,
    ConfigError,
    ManualClock,
    SQLiteStore,
    StoreError,
)
from slack_batcher.http import create_app
from slack_batcher.http.server import check_bind
from slack_batcher.http.settings import ServiceSettings
from slack_batcher.testing import FakeSlack
from tests.test_http_harness import (
    AUTH,
    TOKEN,
    event,
    in_process,
    make_service,
    server_settings,
)

V1_ROUTES = [
    ("POST", "/v1/messages"),
    ("POST", "/v1/flush"),
    ("POST", "/v1/batches/b_x/flush"),
    ("GET", "/v1/batches"),
    ("GET", "/v1/stats"),
    ("GET", "/v1/channels/%23dev-api/stats"),
    ("GET", "/v1/health"),
    ("GET", "/v1/dead-letters"),
    ("POST", "/v1/dead-letters/dl_x/replay"),
]


async def test_one_event_is_accepted_with_the_batch_it_joined(clock: ManualClock) -> None:
    async with in_process(clock) as app:
        response = await app.client.post("/v1/messages", json=event("gh-1"), headers=AUTH)
        assert response.status_code == 202
        body = response.json()
        assert body["accepted"] == 1 and body["duplicates"] == 0
        [result] = body["results"]
        assert result["id"] == "gh-1" and result["channel"] == "#dev-api"
        assert result["flushed"] is False
        pending = app.batcher.inspect_pending_batches("#dev-api")
        assert pending["channels"]["#dev-api"]["batches"][0]["id"] == result["batch_id"]


async def test_a_list_of_five_related_events_fills_and_flushes_one_batch(
    clock: ManualClock,
) -> None:
    async with in_process(clock) as app:
        events = [event(f"gh-{i}", author="alice") for i in range(5)]
        response = await app.client.post("/v1/messages", json=events, headers=AUTH)
        assert response.status_code == 202
        results = response.json()["results"]
        assert len({r["batch_id"] for r in results}) == 1
        assert results[-1]["flushed"] is True and results[-1]["flush_reason"] == "size"
        await app.service.settle()
        [post] = app.slack.posts_in("#dev-api")
        assert "Add auth" in post.text


async def test_a_resent_event_id_is_reported_as_a_duplicate(clock: ManualClock) -> None:
    async with in_process(clock) as app:
        await app.client.post("/v1/messages", json=event("gh-1"), headers=AUTH)
        response = await app.client.post("/v1/messages", json=event("gh-1"), headers=AUTH)
        assert response.json()["duplicates"] == 1
        assert response.json()["results"][0]["duplicate"] is True
        assert app.batcher.get_batch_stats()["messages_pending"] == 1


@pytest.mark.parametrize(("method", "path"), V1_ROUTES)
async def test_every_v1_route_requires_the_bearer_token(
    clock: ManualClock, method: str, path: str
) -> None:
    async with in_process(clock) as app:
        missing = await app.client.request(method, path)
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"].startswith("Bearer")
        assert missing.headers["content-type"] == "application/problem+json"
        wrong = await app.client.request(
            method, path, headers={"Authorization": "Bearer not-the-token"}
        )
        assert wrong.status_code == 401
        assert "not-the-token" not in wrong.text
        basic = await app.client.request(method, path, headers={"Authorization": f"Basic {TOKEN}"})
        assert basic.status_code == 401
        right = await app.client.request(method, path, headers=AUTH, json=event("gh-1"))
        assert right.status_code != 401


async def test_probes_and_metrics_are_open_without_a_token(clock: ManualClock) -> None:
    async with in_process(clock) as app:
        assert (await app.client.get("/healthz")).json() == {"status": "ok"}
        assert (await app.client.get("/readyz")).json() == {"status": "ready"}
        metrics = await app.client.get("/metrics")
        assert metrics.status_code == 200
        assert "slack_batcher_pending_messages" in metrics.text


async def test_without_a_token_the_api_is_open(clock: ManualClock) -> None:
    async with in_process(clock, token=None) as app:
        response = await app.client.post("/v1/messages", json=event("gh-1"))
        assert response.status_code == 202


async def test_a_bad_field_is_named_in_a_422_problem_body(clock: ManualClock) -> None:
    async with in_process(clock) as app:
        bad = {**event("gh-1"), "timestamp": "yesterday-ish", "content_type": "tweet"}
        response = await app.client.post("/v1/messages", json=bad, headers=AUTH)
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        fields = {e["field"] for e in response.json()["errors"]}
        assert fields == {"timestamp", "content_type"}
        assert "timestamp" in response.json()["detail"]


async def test_in_a_list_the_bad_event_is_named_by_index_and_nothing_is_stored(
    clock: ManualClock,
) -> None:
    async with in_process(clock) as app:
        events = [event("gh-1"), {k: v for k, v in event("gh-2").items() if k != "channel"}]
        response = await app.client.post("/v1/messages", json=events, headers=AUTH)
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == ["[1].channel"]
        assert app.batcher.get_batch_stats()["messages_received"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channel": "#x", "content_type": "alert"}, "id"),
        ({**event("gh-1"), "id": "   "}, "id"),
        ({**event("gh-1"), "priority": "urgent!"}, "priority"),
        ({**event("gh-1"), "timestamp": 1767225600}, "timestamp"),
        ({**event("gh-1"), "timestamp": "0001-01-01T00:00:00+05:00"}, "timestamp"),
        ({**event("gh-1"), "data": ["not", "an", "object"]}, "data"),
        ({**event("gh-1"), "surprise": 1}, "surprise"),
        ({**event("gh-1"), "data": {"x": float("nan")}}, "data"),
    ],
)
async def test_each_invalid_event_is_a_422_naming_its_field(
    clock: ManualClock, body: dict[str, object], field: str
) -> None:
    async with in_process(clock) as app:
        if field == "data" and isinstance(body.get("data"), dict):
            content = b'{"id":"a","channel":"#x","content_type":"alert","data":{"x":NaN}}'
            response = await app.client.post(
                "/v1/messages",
                content=content,
                headers={**AUTH, "content-type": "application/json"},
            )
        else:
            response = await app.client.post("/v1/messages", json=body, headers=AUTH)
        assert response.status_code == 422, response.text
        assert field in {e["field"] for e in response.json()["errors"]}


async def test_malformed_json_and_wrong_shapes_are_4xx_problems(clock: ManualClock) -> None:
    async with in_process(clock) as app:
        headers = {**AUTH, "content-type": "application/json"}
        broken = await app.client.post("/v1/messages", content=b"{oops", headers=headers)
        assert broken.status_code == 400
        assert broken.json()["detail"] == "the request body is not valid JSON"
        for body in (b"42", b'"text"', b"[]", b"null"):
            response = await app.client.post("/v1/messages", content=body, headers=headers)
            assert 400 <= response.status_code < 500, body
            assert response.json()["status"] == response.status_code


async def test_a_body_over_the_limit_is_refused_with_413(clock: ManualClock) -> None:
    async with in_process(clock, max_body_bytes=2048) as app:
        big = event("gh-1", description="x" * 4000)
        response = await app.client.post("/v1/messages", json=big, headers=AUTH)
        assert response.status_code == 413
        assert "2048 bytes" in response.json()["detail"]

        async def chunks():  # type: ignore[no-untyped-def]
            for _ in range(10):
                yield b" " * 512

        chunked = await app.client.post("/v1/messages", content=chunks(), headers=AUTH)
        assert chunked.status_code == 413
        assert app.batcher.get_batch_stats()["messages_received"] == 0


async def test_an_event_over_the_message_size_limit_is_refused_naming_data(
    clock: ManualClock,
) -> None:
    async with in_process(clock) as app:
        big = event("gh-2", description="x" * (70 * 1024))
        response = await app.client.post("/v1/messages", json=[event("gh-1"), big], headers=AUTH)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "[1].data"
        assert app.batcher.get_batch_stats()["messages_received"] == 0


async def test_flush_all_or_one_channel_delivers_to_slack(clock: ManualClock) -> None:
    async with in_process(clock) as app:
        await app.client.post(
            "/v1/messages", json=[event("gh-1"), event("ci-1", "#ci")], headers=AUTH
        )
        one = await app.client.post("/v1/flush", params={"channel": "#ci"}, headers=AUTH)
        assert one.json()["flushed_batches"] == 1 and one.json()["flushed_messages"] == 1
        await app.service.settle()
        assert len(app.slack.posts_in("#ci")) == 1 and not app.slack.posts_in("#dev-api")
        rest = await app.client.post("/v1/flush", headers=AUTH)
        assert rest.json()["flushed_batches"] == 1
        await app.service.settle()
        assert len(app.slack.posts_in("#dev-api")) == 1


async def test_one_batch_can_be_flushed_by_id_and_an_unknown_id_is_404(
    clock: ManualClock,
) -> None:
    async with in_process(clock) as app:
        added = await app.client.post("/v1/messages", json=event("gh-1"), headers=AUTH)
        batch_id = added.json()["results"][0]["batch_id"]
        flushed = await app.client.post(f"/v1/batches/{batch_id}/flush", headers=AUTH)
        assert flushed.json()["batch_ids"] == [batch_id]
        again = await app.client.post(f"/v1/batches/{batch_id}/flush", headers=AUTH)
        assert again.status_code == 404
        assert batch_id in again.json()["detail"]


async def test_inspection_lists_pending_batches_per_channel(clock: ManualClock) -> None:
    async with in_process(clock) as app:
        await app.client.post(
            "/v1/messages", json=[event("gh-1"), event("ci-1", "#ci")], headers=AUTH
        )
        everything = (await app.client.get("/v1/batches", headers=AUTH)).json()
        assert everything["total_batches"] == 2
        only = (await app.client.get("/v1/batches?channel=%23ci", headers=AUTH)).json()
        assert list(only["channels"]) == ["#ci"]
        [batch] = only["channels"]["#ci"]["batches"]
        assert batch["items"][0]["id"] == "ci-1"
        assert batch["seconds_until_due"] == 300


async def test_window_expiry_posts_without_any_flush_call(clock: ManualClock) -> None:
    async with in_process(clock) as app:
        await app.client.post("/v1/messages", json=event("gh-1"), headers=AUTH)
        await app.service.advance(timedelta(minutes=5))
        assert len(app.slack.posts_in("#dev-api")) == 1
        stats = (await app.client.get("/v1/stats", headers=AUTH)).json()
        assert stats["flush_reasons"] == {"window": 1}
        assert stats["delivery"]["posts"] == 1


async def test_channel_stats_and_an_unknown_channel(clock: ManualClock) -> None:
    async with in_process(clock) as app:
        await app.client.post("/v1/messages", json=event("gh-1"), headers=AUTH)
        stats = await app.client.get("/v1/channels/%23dev-api/stats", headers=AUTH)
        assert stats.json()["pending_message_count"] == 1
        unknown = await app.client.get("/v1/channels/nowhere/stats", headers=AUTH)
        assert unknown.status_code == 404


async def test_health_answers_503_when_slack_refuses_the_credentials(clock: ManualClock) -> None:
    async with in_process(clock) as app:
        healthy = await app.client.get("/v1/health", headers=AUTH)
        assert healthy.status_code == 200 and healthy.json()["status"] == "healthy"
        app.slack.revoke_token()
        await app.client.post("/v1/messages", json=event("gh-1"), headers=AUTH)
        await app.client.post("/v1/flush", headers=AUTH)
        await app.service.settle()
        unhealthy = await app.client.get("/v1/health", headers=AUTH)
        assert unhealthy.status_code == 503
        assert unhealthy.json()["checks"]["delivery_auth"]["status"] == "unhealthy"


async def test_undeliverable_posts_become_dead_letters_that_can_be_replayed(
    clock: ManualClock,
) -> None:
    async with in_process(clock, channels=["#dev-api"]) as app:
        await app.client.post("/v1/messages", json=event("gh-1", "#gone"), headers=AUTH)
        await app.client.post("/v1/flush", headers=AUTH)
        await app.service.settle()
        letters = (await app.client.get("/v1/dead-letters", headers=AUTH)).json()["dead_letters"]
        [letter] = letters
        assert letter["channel_id"] == "#gone" and letter["error_code"] == "channel_not_found"
        assert letter["messages"][0]["id"] == "gh-1"
        replay = await app.client.post(f"/v1/dead-letters/{letter['id']}/replay", headers=AUTH)
        assert replay.json() == {"id": letter["id"], "requeued": 1}
        assert app.batcher.inspect_pending_batches("#gone")["total_messages"] == 1
        unknown = await app.client.post("/v1/dead-letters/dl_nope/replay", headers=AUTH)
        assert unknown.status_code == 404


async def test_metrics_follow_prometheus_conventions_and_agree_with_stats(
    clock: ManualClock,
) -> None:
    async with in_process(clock) as app:
        await app.client.post(
            "/v1/messages", json=[event(f"gh-{i}") for i in range(7)], headers=AUTH
        )
        await app.service.settle()
        text = (await app.client.get("/metrics")).text
        stats = (await app.client.get("/v1/stats", headers=AUTH)).json()
        families = {f.name: f for f in text_string_to_metric_families(text)}
        ours = {name: f for name, f in families.items() if name.startswith("slack_batcher_")}

        def value(name: str, **labels: str) -> float:
            for sample in ours[name].samples:
                if sample.labels == labels and not sample.name.endswith("_created"):
                    return sample.value
            raise KeyError(name)

        assert value("slack_batcher_messages_received") == stats["messages_received"] == 7
        assert value("slack_batcher_pending_messages") == stats["messages_pending"] == 2
        assert value("slack_batcher_batches_flushed", reason="size") == 1
        assert value("slack_batcher_slack_posts") == stats["delivery"]["posts"] == 1
        assert value("slack_batcher_health_status", status="healthy") == 1
        latency = ours["slack_batcher_due_to_post_seconds"]
        assert latency.type == "histogram"
        count = [s for s in latency.samples if s.name.endswith("_count")]
        assert [s.value for s in count] == [stats["delivery"]["delivered"]] == [1]
        inf = [s for s in latency.samples if s.labels.get("le") == "+Inf"]
        assert [s.value for s in inf] == [1]
        for family in ours.values():
            assert family.type in ("counter", "gauge", "histogram")
            assert family.documentation
        counters = [f for f in ours.values() if f.type == "counter"]
        assert all(s.name.endswith("_total") for f in counters for s in f.samples)


async def test_tokens_never_appear_in_responses_or_logs(
    clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with in_process(clock) as app:
        await app.client.post("/v1/messages", json=event("gh-1"), headers=AUTH)
        await app.client.post("/v1/flush", headers=AUTH)
        await app.service.settle()
        wrong = await app.client.get("/v1/stats", headers={"Authorization": "Bearer guess"})
        assert TOKEN not in wrong.text and "guess" not in wrong.text
        token = app.slack.token or ""
    assert TOKEN not in caplog.text
    assert token not in caplog.text


def test_a_non_loopback_bind_without_a_token_is_refused() -> None:
    open_settings = ServiceSettings(server={"host": "0.0.0.0"})
    with pytest.raises(ConfigError) as refused:
        check_bind(open_settings)
    assert "server.host" in str(refused.value) and "SLACK_BATCHER_API_TOKEN" in str(refused.value)
    loopback = ServiceSettings(server={"host": "127.0.0.1"})
    assert "loopback" in check_bind(loopback)
    guarded = ServiceSettings(server={"host": "0.0.0.0", "api_token": "t0ken-of-20-chars-xy"})
    assert "t0ken" not in check_bind(guarded)


async def test_a_store_failure_mid_list_says_how_many_events_were_accepted(
    clock: ManualClock, tmp_path: Path
) -> None:
    class FailingThird(SQLiteStore):
        opened = 0

        def record_open(self, batch: BatchGroup, message: BatchableMessage) -> None:
            FailingThird.opened += 1
            if FailingThird.opened == 3:
                raise StoreError(f"{self.path}: disk full")
            super().record_open(batch, message)

    store = FailingThird(tmp_path / "s.db")
    events = [event(f"gh-{i}", f"C{i}") for i in range(4)]
    with FakeSlack(clock=clock, posts_per_second=None) as slack:
        async with make_service(slack, clock, store=store) as service:
            app = create_app(service, settings=server_settings(TOKEN))
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                answer = await client.post("/v1/messages", json=events, headers=AUTH)
                assert answer.status_code == 503
                assert "2 of 4 events were accepted" in answer.json()["detail"]
                assert service.batcher.inspect_pending_batches()["total_messages"] == 2
    store.close()


async def test_an_oversized_event_is_refused_by_name_and_counted(clock: ManualClock) -> None:
    async with in_process(clock) as app:
        big = event("big", body="x" * 70_000)
        answer = await app.client.post("/v1/messages", json=[event("ok"), big], headers=AUTH)
        assert answer.status_code == 422
        assert "[1].data" in answer.text
        stats = (await app.client.get("/v1/stats", headers=AUTH)).json()
        assert (stats["rejected"], stats["messages_pending"]) == (1, 0)


async def test_a_channel_with_a_slash_is_refused_by_name(clock: ManualClock) -> None:
    async with in_process(clock) as app:
        answer = await app.client.post("/v1/messages", json=event("x", "team/dev"), headers=AUTH)
        assert answer.status_code == 422
        assert answer.json()["errors"][0]["field"] == "channel"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ('{"title": "bad \\ud800 text"}', "data.title"),
        ('{"\\udfff": 1}', "data"),
        ('{"x": [{"y": "\\ud800"}]}', "data.x[0].y"),
        ("[" * 40 + "]" * 40, "data"),  # 41 levels with data itself
        ('{"a": ' * 900 + "1" + "}" * 900, "data"),
    ],
    ids=["surrogate-value", "surrogate-key", "surrogate-nested", "41-deep", "901-deep"],
)
async def test_invalid_unicode_and_deep_nesting_are_422s_naming_the_field(
    clock: ManualClock, data: str, field: str
) -> None:
    async with in_process(clock) as app:
        if data.startswith("["):
            data = '{"list": ' + data + "}"
        content = '{"id": "a", "channel": "#x", "content_type": "alert", "data": ' + data + "}"
        response = await app.client.post(
            "/v1/messages",
            content=content.encode(),
            headers={**AUTH, "content-type": "application/json"},
        )
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == [field]
        assert app.batcher.get_batch_stats()["messages_received"] == 0


async def test_json_too_deep_to_parse_is_a_4xx_not_a_500(clock: ManualClock) -> None:
    async with in_process(clock) as app:
        data = '{"a": ' * 5000 + "1" + "}" * 5000
        content = '{"id": "a", "channel": "#x", "content_type": "alert", "data": ' + data + "}"
        response = await app.client.post(
            "/v1/messages",
            content=content.encode(),
            headers={**AUTH, "content-type": "application/json"},
        )
        assert 400 <= response.status_code < 500, response.text
        assert app.batcher.get_batch_stats()["messages_received"] == 0
