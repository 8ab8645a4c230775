"""The ingest hot path answers exactly as FastAPI's own handling does.

Valid JSON with the right token takes a shortcut past FastAPI's dependency solving
(slack_batcher.http.fast_route); these tests send the same bodies both ways (a content type
FastAPI reads as JSON but the shortcut leaves to it) and with every kind of bad token.
"""

from __future__ import annotations

import json

import pytest

from slack_batcher import ManualClock
from tests.test_http_harness import AUTH, TOKEN, event, in_process

JSON = {"Content-Type": "application/json"}
# FastAPI parses this as JSON too; the shortcut only takes the exact "application/json".
JSON_WITH_CHARSET = {"Content-Type": "application/json; charset=utf-8"}


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-the-token", f"Basic {TOKEN}", f"Bearer{TOKEN}", "Bearer ", f"{TOKEN}"],
)
async def test_a_valid_event_with_a_bad_token_is_refused_and_not_stored(
    clock: ManualClock, authorization: str | None
) -> None:
    async with in_process(clock) as app:
        headers = dict(JSON)
        if authorization is not None:
            headers["Authorization"] = authorization
        response = await app.client.post(
            "/v1/messages", content=json.dumps(event("gh-1")), headers=headers
        )
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert app.batcher.get_batch_stats()["messages_pending"] == 0


async def test_the_token_is_read_as_the_bearer_scheme_reads_it(clock: ManualClock) -> None:
    async with in_process(clock) as app:
        for number, authorization in enumerate((f"bearer {TOKEN}", f"BEARER   {TOKEN}  ")):
            headers = {**JSON, "Authorization": authorization}
            body = json.dumps(event(f"gh-{number}"))
            response = await app.client.post("/v1/messages", content=body, headers=headers)
            assert response.status_code == 202, authorization
        assert app.batcher.get_batch_stats()["messages_pending"] == 2


@pytest.mark.parametrize(
    "body",
    [
        event("gh-1"),
        [event("gh-1"), event("gh-2", author="bob")],
        {**event("gh-1"), "timestamp": "2026-03-02T10:15:00+01:00", "priority": "high"},
    ],
)
async def test_both_paths_accept_the_same_events_with_the_same_answer(
    clock: ManualClock, body: object
) -> None:
    answers = []
    for content_type in (JSON, JSON_WITH_CHARSET):
        async with in_process(clock) as app:
            response = await app.client.post(
                "/v1/messages", content=json.dumps(body), headers={**AUTH, **content_type}
            )
            assert response.status_code == 202
            answer = response.json()
            for result in answer["results"]:
                result.pop("batch_id")
            answers.append((answer, app.batcher.inspect_pending_batches()["total_messages"]))
    assert answers[0] == answers[1]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**event("gh-1"), "content_type": "nope"}, "content_type"),
        ({**event("gh-1"), "id": ""}, "id"),
        ([event("gh-1"), {**event("gh-2"), "extra": 1}], "[1].extra"),
        ({**event("gh-1"), "timestamp": 1700000000}, "timestamp"),
    ],
)
async def test_an_invalid_event_gets_the_same_problem_on_both_paths(
    clock: ManualClock, body: object, field: str
) -> None:
    problems = []
    for content_type in (JSON, JSON_WITH_CHARSET):
        async with in_process(clock) as app:
            response = await app.client.post(
                "/v1/messages", content=json.dumps(body), headers={**AUTH, **content_type}
            )
            assert response.status_code == 422
            assert response.headers["content-type"] == "application/problem+json"
            assert app.batcher.get_batch_stats()["messages_pending"] == 0
            problems.append(response.json())
    assert problems[0] == problems[1]
    assert field in [error["field"] for error in problems[0]["errors"]]


async def test_malformed_json_is_a_400_problem(clock: ManualClock) -> None:
    async with in_process(clock) as app:
        response = await app.client.post(
            "/v1/messages", content=b'{"id": "gh-1",', headers={**AUTH, **JSON}
        )
        assert response.status_code == 400
        assert response.json()["detail"] == "the request body is not valid JSON"
