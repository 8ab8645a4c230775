"""Type confusion in real payloads: any field replaced by -1, 1.5, true, null, [], {} or "x".

A signed payload is not a well-formed one. Whatever field of a real sample is given the
wrong type, the adapter (and the endpoint) answers 2xx or 400 naming that field, never
anything else; through HTTP, never a 5xx.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slack_batcher import ManualClock
from slack_batcher.model.errors import InvalidMessageError
from slack_batcher.routing.table import parse_routes
from slack_batcher.sources import ADAPTERS, PayloadError
from slack_batcher.sources.samples import (
    alert,
    alertmanager_notification,
    github_event,
    jira_event,
    signed_request,
)
from tests.test_sources_http import AM_TOKEN, GH_SECRET, JIRA_SECRET, sources_app

#: (source, X-GitHub-Event, payload): one real sample of every event an adapter reports.
SAMPLES: list[tuple[str, str, dict[str, Any]]] = [
    ("github", "pull_request", github_event("pull_request", "opened", labels=["bug"])),
    ("github", "pull_request", github_event("pull_request", "closed", merged=True)),
    ("github", "pull_request", github_event("pull_request", "review_requested")),
    ("github", "pull_request_review", github_event("pull_request_review", "submitted")),
    (
        "github",
        "pull_request_review_comment",
        github_event("pull_request_review_comment", "created"),
    ),
    ("github", "issues", github_event("issues", "opened")),
    ("github", "issues", github_event("issues", "assigned")),
    ("github", "issue_comment", github_event("issue_comment", "created")),
    ("github", "push", github_event("push", commits=3)),
    ("github", "workflow_run", github_event("workflow_run", "completed", conclusion="failure")),
    ("github", "workflow_job", github_event("workflow_job", "completed")),
    ("github", "check_suite", github_event("check_suite", "completed")),
    ("github", "deployment_status", github_event("deployment_status", "created")),
    ("github", "release", github_event("release", "published")),
    ("github", "dependabot_alert", github_event("dependabot_alert", "created")),
    ("github", "code_scanning_alert", github_event("code_scanning_alert", "created")),
    ("github", "secret_scanning_alert", github_event("secret_scanning_alert", "created")),
    ("jira", "", jira_event("jira:issue_created")),
    ("jira", "", jira_event("jira:issue_updated", changes={"status": ("To Do", "Done")})),
    ("jira", "", jira_event("jira:issue_updated", changes={"assignee": ("", "Bob")})),
    ("jira", "", jira_event("comment_created", comment="Ship it")),
    ("jira", "", jira_event("jira:issue_deleted")),
    (
        "alertmanager",
        "",
        alertmanager_notification(
            [alert("HighLatency", severity="critical"), alert("DiskFull", status="resolved")]
        ),
    ),
]
#: What a confused client puts in place of a field.
CONFUSIONS: list[Any] = [-1, 1.5, True, None, [], {}, "x"]

Path = tuple[str | int, ...]


def paths(value: Any, prefix: Path = ()) -> Iterator[Path]:
    """Every field and list element under *value*, outermost first."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, child in items:
        yield (*prefix, key)
        if isinstance(child, dict | list):
            yield from paths(child, (*prefix, key))


def dotted(path: Path) -> str:
    """``pull_request.labels[0].name``: how an error names the field at *path*."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def replaced(payload: dict[str, Any], path: Path, value: Any) -> dict[str, Any]:
    """A deep copy of *payload* with the field at *path* set to *value*."""
    changed = json.loads(json.dumps(payload))  # no shared objects: one field changes
    parent: Any = changed
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = json.loads(json.dumps(value))
    return changed


def names_the_field(named: str, path: Path) -> bool:
    """True when an error naming *named* points at the replaced field (or inside it)."""
    field = dotted(path)
    return named == field or named.startswith((field + ".", field + "["))


#: (sample number, path, value): every field of every sample, with every confusion.
MUTATIONS = [
    (number, path, value)
    for number, (_, _, payload) in enumerate(SAMPLES)
    for path in paths(payload)
    for value in CONFUSIONS
]
ROUTES = parse_routes([{"channel": "#all"}])


def adapt(source: str, event: str, payload: Any) -> None:
    """Adapt and route *payload*; PayloadError / InvalidMessageError pass through."""
    adapted = ADAPTERS[source](payload, {"X-GitHub-Event": event, "X-GitHub-Delivery": "d-1"})
    for routed in adapted.events:
        assert routed.message.id
        assert ROUTES.route(routed).channels == ("#all",)


def test_the_samples_are_accepted_as_they_are() -> None:
    for source, event, payload in SAMPLES:
        adapted = ADAPTERS[source](payload, {"X-GitHub-Event": event})
        assert adapted.events, (source, event, adapted.ignored)


@pytest.mark.parametrize("value", [-1, 1.5, True])
def test_pull_request_labels_of_the_wrong_type_are_a_payload_error_naming_them(
    value: Any,
) -> None:
    payload = replaced(SAMPLES[0][2], ("pull_request", "labels"), value)
    with pytest.raises(PayloadError) as caught:
        adapt("github", "pull_request", payload)
    assert caught.value.field == "pull_request.labels"
    assert "expected a list" in caught.value.problem


@settings(max_examples=400, deadline=None)
@given(mutation=st.sampled_from(MUTATIONS))
def test_any_field_of_any_type_is_adapted_or_refused_naming_it(
    mutation: tuple[int, Path, Any],
) -> None:
    number, path, value = mutation
    source, event, payload = SAMPLES[number]
    try:
        adapt(source, event, replaced(payload, path, value))
    except (PayloadError, InvalidMessageError) as exc:
        assert names_the_field(exc.field, path), (dotted(path), value, str(exc))


#: Every STRIDE-th mutation goes through HTTP (5 is prime to the 7 confusions, so every
#: field meets several of them); CONFUSION_STRIDE=1 sends all of them (about 4,400).
STRIDE = int(os.environ.get("CONFUSION_STRIDE", "5"))


async def test_type_confusions_signed_through_http_are_2xx_or_a_400_naming_the_field(
    clock: ManualClock,
) -> None:
    counts: dict[int, int] = {}
    secrets = {"github": GH_SECRET, "jira": JIRA_SECRET, "alertmanager": AM_TOKEN}
    async with sources_app(clock, routes=[{"channel": "#all"}]) as app:
        for index, (number, path, value) in enumerate(MUTATIONS[::STRIDE]):
            source, event, payload = SAMPLES[number]
            body = json.dumps(replaced(payload, path, value)).encode()
            raw, headers = signed_request(
                source, body, secrets[source], event=event, delivery=f"d-{index}"
            )
            response = await app.client.post(f"/v1/sources/{source}", content=raw, headers=headers)
            counts[response.status_code] = counts.get(response.status_code, 0) + 1
            assert response.status_code in (200, 202, 400), (dotted(path), value, response.text)
            if response.status_code == 400:
                named = response.json()["errors"][0]["field"]
                assert names_the_field(named, path), (dotted(path), value, named)
    print(f"type confusion through HTTP: {len(MUTATIONS[::STRIDE])} requests, by status {counts}")
    assert counts.get(400, 0) > 0 and counts.get(202, 0) > 0
