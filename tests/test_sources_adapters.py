"""Source adapters: every listed GitHub / Jira / Alertmanager event becomes the right message."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slack_batcher.model.errors import InvalidMessageError
from slack_batcher.model.thread_keys import message_thread_key
from slack_batcher.sources import ADAPTERS, PayloadError, alertmanager, github, jira
from slack_batcher.sources.samples import alert, alertmanager_notification, github_event, jira_event


def gh(event: str, action: str | None = None, delivery: str = "d-1", **fields: Any) -> Any:
    headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery}
    return github.adapt(github_event(event, action, **fields), headers)


def only(adapted: Any) -> Any:
    assert adapted.ignored is None, adapted.ignored
    [event] = adapted.events
    return event


# --------------------------------------------------------------------------- GitHub

PR_CASES = [
    ("opened", {}, "opened"),
    ("reopened", {}, "reopened"),
    ("closed", {"merged": True}, "merged"),
    ("closed", {}, "closed"),
    ("ready_for_review", {}, "ready for review"),
    ("review_requested", {"reviewer": "bob"}, "review_requested"),
    ("converted_to_draft", {}, "converted to draft"),
]


@pytest.mark.parametrize(("action", "fields", "status"), PR_CASES)
def test_each_pull_request_action_becomes_a_pr_update_with_its_status(
    action: str, fields: dict[str, Any], status: str
) -> None:
    event = only(gh("pull_request", action, title="Add auth", **fields))
    message = event.message
    assert message.content_type.value == "pr_update"
    assert message.id == "github:d-1"
    assert message.data["action"] == status
    assert message.data["number"] == 42 and message.data["title"] == "Add auth"
    assert message.data["repository"] == "acme/api"
    assert message.data["url"] == "https://github.com/acme/api/pull/42"
    assert message_thread_key(message) == "pr:acme/api#42"
    assert (event.source, event.event, event.action) == ("github", "pull_request", action)
    if action == "review_requested":
        assert message.data["reviewers"] == ["bob"]


@pytest.mark.parametrize(
    ("state", "shown"),
    [
        ("approved", "approved"),
        ("changes_requested", "changes requested"),
        ("commented", "commented"),
    ],
)
def test_each_review_state_is_reported_on_its_pull_request(state: str, shown: str) -> None:
    message = only(gh("pull_request_review", "submitted", state=state, sender="bob")).message
    assert message.data["action"] == shown and message.data["reviewer"] == "bob"
    assert message.author == "bob"
    assert message_thread_key(message) == "pr:acme/api#42"


def test_review_comments_and_pr_conversation_comments_join_the_pull_requests_thread() -> None:
    review_comment = only(gh("pull_request_review_comment", "created", body="rename")).message
    conversation = only(gh("issue_comment", "created", on_pull_request=True)).message
    for message in (review_comment, conversation):
        assert message.content_type.value == "pr_update"
        assert message.data["action"] == "commented"
        assert message_thread_key(message) == "pr:acme/api#42"


@pytest.mark.parametrize("action", ["opened", "reopened", "closed", "assigned"])
def test_issue_actions_become_events_threaded_by_issue(action: str) -> None:
    message = only(gh("issues", action, number=7, title="Crash on login")).message
    assert message.data["title"] == "#7 Crash on login"
    assert message.data["status"] == action
    assert message.metadata["thread_key"] == "issue:acme/api#7"
    comment = only(gh("issue_comment", "created", number=7)).message
    assert comment.metadata["thread_key"] == "issue:acme/api#7"


def test_a_push_reports_branch_commit_count_and_compare_link() -> None:
    message = only(gh("push", branch="main", commits=3)).message
    assert message.data["title"] == "3 commits to main"
    assert message.data["branch"] == "main" and message.data["commits"] == 3
    assert message.data["url"].startswith("https://github.com/acme/api/compare/")
    assert gh("push", deleted=True).ignored is not None


def test_the_push_of_a_merged_pull_request_goes_to_the_pull_requests_thread() -> None:
    def pushed(title: str, branch: str = "main") -> Any:
        body = github_event("push", None, branch=branch)
        body["head_commit"]["message"] = title + "\n\nSigned-off-by: ana"
        headers = {"X-GitHub-Event": "push", "X-GitHub-Delivery": "d-9"}
        return only(github.adapt(body, headers)).message

    merged = only(gh("pull_request", "closed", number=12, merged=True)).message
    assert message_thread_key(merged) == "pr:acme/api#12"
    assert message_thread_key(pushed("Fix the login crash (#12)")) == "pr:acme/api#12"  # squash
    assert message_thread_key(pushed("Merge pull request #12 from acme/fix")) == "pr:acme/api#12"
    assert message_thread_key(pushed("Fix the login crash (#12)", "release/1")) is None
    assert message_thread_key(pushed("Mention #12 in passing")) is None


@pytest.mark.parametrize("event", ["workflow_run", "check_suite", "workflow_job"])
@pytest.mark.parametrize(
    ("conclusion", "said", "priority"),
    [
        ("failure", "failed", "high"),
        ("success", "passed", "medium"),
        ("cancelled", "cancelled", "low"),
        ("timed_out", "timed out", "high"),
    ],
)
def test_completed_ci_runs_are_ci_builds_and_failures_are_high_priority(
    event: str, conclusion: str, said: str, priority: str
) -> None:
    message = only(gh(event, "completed", conclusion=conclusion, branch="feature/9")).message
    assert message.content_type.value == "ci_build"
    assert message.priority == priority
    assert message.data["status"] == said and message.data["conclusion"] == conclusion
    assert message.data["branch"] == "feature/9"
    assert gh(event, "requested").ignored is not None


@pytest.mark.parametrize(
    ("state", "said", "priority"),
    [
        ("success", "succeeded", "medium"),
        ("failure", "failed", "high"),
        ("in_progress", "in progress", "medium"),
        ("queued", "queued", "low"),
    ],
)
def test_deployment_statuses_are_deployments(state: str, said: str, priority: str) -> None:
    message = only(gh("deployment_status", "created", state=state, ref="v2.4.0")).message
    assert message.content_type.value == "deployment"
    assert message.data["status"] == said and message.data["state"] == state
    assert message.data["version"] == "v2.4.0"
    assert message.data["environment"] == "production" and message.priority == priority


def test_a_published_release_is_reported_and_other_release_actions_are_not() -> None:
    message = only(gh("release", "published", tag="v3.0.0")).message
    assert message.data["title"] == "Release v3.0.0"
    assert gh("release", "created").ignored is not None


@pytest.mark.parametrize(
    "event", ["dependabot_alert", "code_scanning_alert", "secret_scanning_alert"]
)
def test_security_alerts_are_alerts_with_the_advisorys_priority(event: str) -> None:
    message = only(
        gh(event, "created", severity="critical" if event != "secret_scanning_alert" else "")
    ).message
    assert message.content_type.value == "alert"
    expected = "high" if event == "secret_scanning_alert" else "critical"
    assert message.priority == expected
    fixed = only(gh(event, "fixed" if event != "secret_scanning_alert" else "resolved")).message
    assert fixed.priority == "low"


def test_ping_is_answered_with_its_zen_and_makes_no_message() -> None:
    adapted = gh("ping")
    assert adapted.events == () and adapted.event == "ping"
    assert adapted.note == "Keep it logically awesome."


@pytest.mark.parametrize(
    ("event", "action"),
    [("star", "created"), ("pull_request", "labeled"), ("pull_request_review", "dismissed")],
)
def test_other_events_and_actions_are_ignored_with_a_reason(event: str, action: str) -> None:
    adapted = github.adapt(
        {"action": action, "sender": {"login": "a"}, "pull_request": {"number": 1}},
        {"X-GitHub-Event": event},
    )
    assert adapted.events == () and adapted.ignored


def test_events_from_bots_are_marked() -> None:
    event = only(gh("pull_request", "opened", sender="dependabot[bot]"))
    assert event.bot is True and event.message.metadata["bot"] is True
    assert only(gh("pull_request", "opened")).bot is False


@pytest.mark.parametrize(
    ("event", "payload", "field"),
    [
        ("pull_request", {"action": "opened"}, "pull_request"),
        ("pull_request", {"action": "opened", "pull_request": "x"}, "pull_request"),
        (
            "pull_request",
            {"action": "opened", "pull_request": {"title": "t"}},
            "pull_request.number",
        ),
        ("issues", {"action": "opened", "issue": {}}, "issue.number"),
        ("workflow_run", {"action": "completed", "workflow_run": []}, "workflow_run"),
        ("push", {"commits": []}, "ref"),
    ],
)
def test_a_payload_that_is_not_what_its_event_says_names_the_field(
    event: str, payload: dict[str, Any], field: str
) -> None:
    with pytest.raises(PayloadError) as raised:
        github.adapt(payload, {"X-GitHub-Event": event})
    assert raised.value.field == field


def test_a_github_delivery_without_an_event_header_names_it() -> None:
    with pytest.raises(PayloadError, match="X-GitHub-Event"):
        github.adapt({}, {})


# ----------------------------------------------------------------------------- Jira


def test_jira_issue_created_carries_status_priority_and_a_browse_link() -> None:
    body = jira_event("jira:issue_created", "ACME-7", priority="Highest", status="To Do")
    message = only(jira.adapt(body, {"X-Atlassian-Webhook-Identifier": "w-1"})).message
    assert message.id == "jira:w-1"
    assert message.content_type.value == "jira_update"
    assert message.priority == "critical"
    assert message.data["event"] == "created" and message.data["status"] == "To Do"
    assert message.data["url"] == "https://acme.atlassian.net/browse/ACME-7"
    assert message.data["project"] == "ACME"
    assert message.author == "Carol Danvers"
    assert message_thread_key(message) == "jira:acme-7"


def test_jira_status_transition_comes_from_the_changelog() -> None:
    body = jira_event(
        "jira:issue_updated", status="Done", changes={"status": ("In Review", "Done")}
    )
    message = only(jira.adapt(body, {})).message
    assert message.data["event"] == "transitioned"
    assert (message.data["from_status"], message.data["to_status"]) == ("In Review", "Done")


def test_jira_assignee_change_is_reported_and_other_edits_are_ignored() -> None:
    body = jira_event("jira:issue_updated", changes={"assignee": ("", "Bob Builder")})
    message = only(jira.adapt(body, {})).message
    assert message.data["event"] == "assigned" and message.data["assignee"] == "Bob Builder"
    edit = jira_event("jira:issue_updated", changes={"description": ("a", "b")})
    assert jira.adapt(edit, {}).ignored is not None


def test_jira_comments_and_deletions_are_reported() -> None:
    comment = only(jira.adapt(jira_event("comment_created", comment="PR is up"), {})).message
    assert comment.data["event"] == "commented" and comment.data["comment"] == "PR is up"
    deleted = only(jira.adapt(jira_event("jira:issue_deleted"), {})).message
    assert deleted.data["event"] == "deleted"


@pytest.mark.parametrize(
    ("name", "priority"),
    [
        ("Highest", "critical"),
        ("High", "high"),
        ("Medium", "medium"),
        ("Low", "low"),
        ("Lowest", "lowest"),
        ("Blocker", "critical"),
        ("Custom", "medium"),
    ],
)
def test_jira_priorities_map_to_ours(name: str, priority: str) -> None:
    body = jira_event("jira:issue_created", priority=name)
    assert only(jira.adapt(body, {})).message.priority == priority


def test_jira_ids_without_the_identifier_header_are_stable_per_body() -> None:
    body = jira_event("jira:issue_created")
    first = only(jira.adapt(body, {})).message.id
    assert first == only(jira.adapt(dict(body), {})).message.id
    later = jira_event("jira:issue_created", timestamp=1_772_440_300_000)
    assert only(jira.adapt(later, {})).message.id != first


def test_unknown_jira_events_are_ignored_and_a_missing_issue_is_named() -> None:
    assert jira.adapt({"webhookEvent": "sprint_started"}, {}).ignored is not None
    with pytest.raises(PayloadError) as raised:
        jira.adapt({"webhookEvent": "jira:issue_created"}, {})
    assert raised.value.field == "issue"


# --------------------------------------------------------------------- Alertmanager


def test_each_alert_of_a_notification_becomes_a_message_with_labels_kept() -> None:
    body = alertmanager_notification(
        [alert("HighLatency", severity="critical"), alert("DiskFull", severity="warning")]
    )
    adapted = alertmanager.adapt(body, {})
    first, second = adapted.events
    assert first.message.priority == "critical" and second.message.priority == "medium"
    assert first.labels["severity"] == "critical" and first.severity == "critical"
    assert first.message.data["labels"]["env"] == "prod"
    assert first.message.data["annotations"]["summary"] == "HighLatency on api"
    fingerprint = body["alerts"][0]["fingerprint"]
    assert first.message.id == f"am:{fingerprint}:firing:2026-03-02T09:00:00Z"


def test_a_resolved_alert_refers_to_its_firing_message_and_shares_its_thread() -> None:
    firing = only(alertmanager.adapt(alertmanager_notification([alert("A")]), {})).message
    resolved = only(
        alertmanager.adapt(alertmanager_notification([alert("A", status="resolved")]), {})
    ).message
    assert resolved.data["refers_to"] == firing.id
    assert resolved.priority == "low"
    assert message_thread_key(resolved) == message_thread_key(firing)
    assert message_thread_key(firing).startswith("alert:")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"version": "4"}, "alerts"),
        ({"version": "4", "alerts": ["x"]}, "alerts[0]"),
        ({"version": "3", "alerts": []}, "version"),
    ],
)
def test_a_notification_that_is_not_version_4_names_the_field(
    body: dict[str, Any], field: str
) -> None:
    with pytest.raises(PayloadError) as raised:
        alertmanager.adapt(body, {})
    assert raised.value.field == field


# ------------------------------------------------------------------------ properties

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=30,
)
KEYS = [
    "action",
    "pull_request",
    "issue",
    "comment",
    "review",
    "alerts",
    "webhookEvent",
    "number",
    "labels",
    "workflow_run",
    "alert",
    "ref",
    "changelog",
    "status",
    "sender",
]
PAYLOADS = JSON | st.dictionaries(st.sampled_from(KEYS), JSON, max_size=6)
EVENTS = st.sampled_from([*github.EVENTS, "star", ""])


@settings(max_examples=300, deadline=None)
@given(source=st.sampled_from(sorted(ADAPTERS)), payload=PAYLOADS, event=EVENTS)
def test_arbitrary_json_never_breaks_an_adapter(source: str, payload: Any, event: str) -> None:
    if source == "jira" and isinstance(payload, dict) and event:
        payload = {**payload, "webhookEvent": f"jira:{event}"}
    try:
        adapted = ADAPTERS[source](payload, {"X-GitHub-Event": event})
    except (PayloadError, InvalidMessageError):
        return
    for routed in adapted.events:
        assert routed.message.id


def test_messages_carry_when_the_event_happened_from_the_payload() -> None:
    pr = only(gh("pull_request", "opened", at="2026-03-02T11:30:00Z")).message
    assert pr.timestamp.isoformat() == "2026-03-02T11:30:00+00:00"
    issue = only(jira.adapt(jira_event("jira:issue_created", timestamp=1_772_445_000_000), {}))
    assert issue.message.timestamp.isoformat() == "2026-03-02T09:50:00+00:00"
    resolved = alert("A", status="resolved")
    message = only(alertmanager.adapt(alertmanager_notification([resolved]), {})).message
    assert message.timestamp.isoformat() == "2026-03-02T10:00:00+00:00"


def test_alerts_left_out_of_a_notification_are_noted_on_its_messages() -> None:
    body = alertmanager_notification([alert("A")])
    body["truncatedAlerts"] = 7
    message = only(alertmanager.adapt(body, {})).message
    assert message.metadata["truncated_alerts"] == 7
    many = alertmanager_notification(
        [alert("A", fingerprint=f"{i:016x}") for i in range(alertmanager.MAX_ALERTS + 3)]
    )
    adapted = alertmanager.adapt(many, {})
    assert len(adapted.events) == alertmanager.MAX_ALERTS
    assert adapted.events[0].message.metadata["truncated_alerts"] == 3
