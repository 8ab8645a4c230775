"""The fields each adapter reads, per provider and event, as :mod:`.shapes` models.

Kept beside the adapters: a field an adapter starts reading belongs here too, so its type is
checked (400 naming it) before the adapter sees it. Only types are checked; which fields are
required, and what their values mean, stays the adapters' business.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .shapes import Flag, Int, RichText, Shape, Text, TextMap

__all__ = ["ALERTMANAGER", "GITHUB_ENVELOPE", "GITHUB_EVENTS", "JIRA"]


class _Named(Shape):
    name: Text = None
    login: Text = None
    type: Text = None
    full_name: Text = None
    html_url: Text = None


class _Ref(Shape):
    ref: Text = None
    sha: Text = None


class _Label(Shape):
    name: Text = None


class _PullRequest(Shape):
    number: Int = None
    title: Text = None
    html_url: Text = None
    head: _Ref | None = None
    base: _Ref | None = None
    merged: Flag = None
    merged_at: Text = None
    additions: Int = None
    deletions: Int = None
    body: Text = None
    labels: list[_Label] | None = None
    updated_at: Text = None


class _Envelope(Shape):
    action: Text = None
    number: Int = None
    sender: _Named | None = None
    repository: _Named | None = None


class _PullRequestEvent(_Envelope):
    pull_request: _PullRequest | None = None
    requested_reviewer: _Named | None = None
    requested_team: _Named | None = None


class _Comment(Shape):
    html_url: Text = None
    body: Text = None
    path: Text = None
    state: Text = None
    created_at: Text = None
    submitted_at: Text = None


class _ReviewEvent(_PullRequestEvent):
    review: _Comment | None = None
    comment: _Comment | None = None


class _Issue(Shape):
    number: Int = None
    title: Text = None
    html_url: Text = None
    state_reason: Text = None
    assignee: _Named | None = None
    body: Text = None
    updated_at: Text = None


class _IssueEvent(_Envelope):
    issue: _Issue | None = None
    comment: _Comment | None = None
    assignee: _Named | None = None


class _HeadCommit(Shape):
    message: Text = None
    timestamp: Text = None


class _PushEvent(_Envelope):
    ref: Text = None
    deleted: Flag = None
    forced: Flag = None
    compare: Text = None
    commits: list[Any] | None = None
    head_commit: _HeadCommit | None = None


class _Run(Shape):
    conclusion: Text = None
    head_sha: Text = None
    head_branch: Text = None
    name: Text = None
    display_title: Text = None
    workflow_name: Text = None
    run_number: Int = None
    run_attempt: Int = None
    html_url: Text = None
    app: _Named | None = None
    updated_at: Text = None
    completed_at: Text = None


class _CiEvent(_Envelope):
    workflow_run: _Run | None = None
    workflow_job: _Run | None = None
    check_suite: _Run | None = None


class _DeploymentStatus(Shape):
    state: Text = None
    environment: Text = None
    target_url: Text = None
    log_url: Text = None
    environment_url: Text = None
    description: Text = None
    updated_at: Text = None


class _Deployment(_Ref):
    environment: Text = None


class _DeploymentEvent(_Envelope):
    deployment_status: _DeploymentStatus | None = None
    deployment: _Deployment | None = None


class _Release(Shape):
    tag_name: Text = None
    name: Text = None
    prerelease: Flag = None
    html_url: Text = None
    body: Text = None
    published_at: Text = None


class _ReleaseEvent(_Envelope):
    release: _Release | None = None


class _Package(Shape):
    package: _Named | None = None
    severity: Text = None


class _Advisory(Shape):
    severity: Text = None
    summary: Text = None


class _Rule(Shape):
    security_severity_level: Text = None
    severity: Text = None
    description: Text = None
    name: Text = None


class _SecurityAlert(Shape):
    number: Int = None
    html_url: Text = None
    updated_at: Text = None
    security_advisory: _Advisory | None = None
    dependency: _Package | None = None
    security_vulnerability: _Package | None = None
    rule: _Rule | None = None
    tool: _Named | None = None
    secret_type_display_name: Text = None
    secret_type: Text = None
    resolution: Text = None


class _SecurityEvent(_Envelope):
    alert: _SecurityAlert | None = None


GITHUB_ENVELOPE: type[Shape] = _Envelope
#: The shape of each GitHub event the adapter reports (others: only the envelope is read).
GITHUB_EVENTS: dict[str, type[Shape]] = {
    "pull_request": _PullRequestEvent,
    "pull_request_review": _ReviewEvent,
    "pull_request_review_comment": _ReviewEvent,
    "issue_comment": _IssueEvent,
    "issues": _IssueEvent,
    "push": _PushEvent,
    "workflow_run": _CiEvent,
    "check_suite": _CiEvent,
    "workflow_job": _CiEvent,
    "deployment_status": _DeploymentEvent,
    "release": _ReleaseEvent,
    "dependabot_alert": _SecurityEvent,
    "code_scanning_alert": _SecurityEvent,
    "secret_scanning_alert": _SecurityEvent,
}


class _JiraPerson(Shape):
    displayName: Text = None
    name: Text = None


class _JiraFields(Shape):
    summary: Text = None
    # Jira's REST v2 sends text; an Atlassian Document (object) is read as no description.
    description: RichText = None
    project: _Named | None = None
    status: _Named | None = None
    issuetype: _Named | None = None
    priority: _Named | None = None
    assignee: _JiraPerson | None = None


class _JiraIssue(Shape):
    id: Text = None
    key: Text = None
    self_url: Text = Field(None, alias="self")
    fields: _JiraFields | None = None


class _JiraComment(Shape):
    id: Text = None
    body: RichText = None
    author: _JiraPerson | None = None
    updateAuthor: _JiraPerson | None = None


class _JiraChange(Shape):
    field: Text = None
    fieldId: Text = None
    fromString: Text = None
    toString: Text = None


class _JiraChangelog(Shape):
    id: Text = None
    items: list[_JiraChange] | None = None


class _JiraEvent(Shape):
    webhookEvent: Text = None
    timestamp: Text = None
    user: _JiraPerson | None = None
    issue: _JiraIssue | None = None
    comment: _JiraComment | None = None
    changelog: _JiraChangelog | None = None


class _Alert(Shape):
    status: Text = None
    labels: TextMap = None
    annotations: TextMap = None
    fingerprint: Text = None
    startsAt: Text = None
    endsAt: Text = None
    generatorURL: Text = None


class _Notification(Shape):
    version: Text = None
    status: Text = None
    receiver: Text = None
    groupKey: Text = None
    commonLabels: TextMap = None
    externalURL: Text = None
    truncatedAlerts: Int = None
    alerts: list[_Alert] | None = None


JIRA: type[Shape] = _JiraEvent
ALERTMANAGER: type[Shape] = _Notification
