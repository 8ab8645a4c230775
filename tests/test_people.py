"""[people]: digests mention who must act, only through mapped Slack user ids."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from slack_batcher import BatchableMessage, ContentType, ManualClock
from slack_batcher.http import create_app
from slack_batcher.http.slack_settings import PeopleSettings
from slack_batcher.model.people import People
from slack_batcher.testing import FakeSlack
from tests.test_http_harness import AUTH, event, make_service, server_settings

PEOPLE = People(
    github={"Bob": "U0BOB", "carol": "U0CAROL"},
    jira={"dan@acme.io": "U0DAN"},
)


def _message(kind: ContentType, author: str | None = None, **data: Any) -> BatchableMessage:
    return BatchableMessage(
        id=str(sorted(data.items())), content_type=kind, author=author, data=data
    )


def test_each_ask_goes_to_the_mapped_person_only() -> None:
    reviewers = ["bob", "<!channel>", "eve"]
    review = _message(ContentType.PR_UPDATE, repository="acme/api", number=42,
                      action="review requested", reviewers=reviewers)  # fmt: skip
    assigned = _message(ContentType.JIRA_UPDATE, key="ACME-7", event="assigned",
                        assignee_email="Dan@acme.io")  # fmt: skip
    failed = _message(ContentType.CI_BUILD, author="carol", conclusion="failure", pipeline="CI")
    passed = _message(ContentType.CI_BUILD, author="carol", conclusion="success", pipeline="CI")
    asks = PEOPLE.asks([review, assigned, failed, passed])
    assert sorted((a.user_id, a.why, a.about) for a in asks) == [
        ("U0BOB", "review", "acme/api#42"),
        ("U0CAROL", "fix the build", "CI"),
        ("U0DAN", "assigned", "ACME-7"),
    ]
    only = People(github={"bob": "U0BOB"}, mention=frozenset({"author_on_failure"}))
    assert only.asks([review]) == []


def test_a_mapping_to_anything_but_a_user_id_is_refused_naming_the_entry() -> None:
    for bad in ("<!channel>", "!here", "u0lower", "C0CHANNEL"):
        with pytest.raises(ValueError, match=r"people\.github\.x: not a Slack user id"):
            People(github={"x": bad})
    with pytest.raises(ValidationError, match="not a Slack user id"):
        PeopleSettings.model_validate({"github": {"x": "<!here>"}})
    with pytest.raises(ValidationError, match="mention"):
        PeopleSettings.model_validate({"mention": ["everyone"]})


async def test_a_digest_mentions_the_requested_reviewer_and_no_payload_text(
    clock: ManualClock,
) -> None:
    with FakeSlack(clock=clock, posts_per_second=None) as slack:
        service = make_service(slack, clock)
        async with service:
            app = create_app(service, settings=server_settings(), people=PEOPLE)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                body = event("e-1", title="<!channel> please <!here>", author="<!everyone>",
                             action="review requested", reviewers=["Bob", "<@U0EVIL>"])  # fmt: skip
                response = await client.post("/v1/messages", json=body, headers=AUTH)
                assert response.status_code == 202, response.text
                await service.advance(6 * 60)
        service.batcher.close()
    [post] = slack.posts_in("#dev-api")
    shown = json.dumps(post.blocks) + post.text
    assert "<@U0BOB> review" in shown
    for injected in ("<!channel>", "<!here>", "<!everyone>", "<@U0EVIL>"):
        assert injected not in shown


def test_a_route_chooses_what_its_digests_mention_and_a_bad_list_names_the_route() -> None:
    from slack_batcher.model.errors import ConfigError
    from slack_batcher.routing.table import parse_routes

    table = parse_routes(
        [
            {"source": "github", "channel": "#ci", "mention": ["author_on_failure"]},
            {"channel": "#dev"},
        ]
    )
    assert table.channel_mentions() == {"#ci": ("author_on_failure",)}
    assert table.routes[0].to_dict()["mention"] == ["author_on_failure"]
    review = _message(ContentType.PR_UPDATE, repository="acme/api", number=42,
                      action="review requested", reviewers=["bob"])  # fmt: skip
    assert PEOPLE.asks([review], ("author_on_failure",)) == []
    assert [a.user_id for a in PEOPLE.asks([review])] == ["U0BOB"]
    with pytest.raises(ConfigError, match=r"routes\[0\]\.mention: unknown \['everyone'\]"):
        parse_routes([{"channel": "#x", "mention": ["everyone"]}])


async def test_a_route_that_mentions_only_failures_does_not_ping_the_reviewer(
    clock: ManualClock,
) -> None:
    from slack_batcher.routing.table import parse_routes

    routes = parse_routes([{"channel": "#dev-api", "mention": ["author_on_failure"]}])
    with FakeSlack(clock=clock, posts_per_second=None) as slack:
        service = make_service(slack, clock)
        async with service:
            app = create_app(service, settings=server_settings(), people=PEOPLE, routes=routes)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                body = event("e-1", action="review requested", reviewers=["bob"])
                del body["channel"]
                response = await client.post("/v1/messages", json=body, headers=AUTH)
                assert response.status_code == 202, response.text
                await service.advance(6 * 60)
        service.batcher.close()
    [post] = slack.posts_in("#dev-api")
    assert "<@U0BOB>" not in json.dumps(post.blocks) + post.text
