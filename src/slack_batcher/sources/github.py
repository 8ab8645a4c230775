"""GitHub webhooks (repository or organisation) → messages.

One delivery becomes at most one message, whose id is the ``X-GitHub-Delivery`` GUID (so a
redelivery is recognised). Handled events and actions:

=============================  ===========================================================
event                          actions → message
=============================  ===========================================================
``ping``                       acknowledged with its ``zen``; no message
``pull_request``               opened, reopened, closed (→ merged / closed),
                               ready_for_review, review_requested, converted_to_draft
``pull_request_review``        submitted: approved, changes requested, commented
``pull_request_review_comment`` created
``issue_comment``              created (on a pull request: a PR update)
``issues``                     opened, reopened, closed, assigned
``push``                       branch or tag, commit count, compare link
``workflow_run``,              completed (a failure is a high-priority CI build)
``check_suite``,
``workflow_job``
``deployment_status``          created (failure / error: high priority)
``release``                    published
``dependabot_alert``,          every action; the advisory's severity is the priority
``code_scanning_alert``,
``secret_scanning_alert``
=============================  ===========================================================

Anything else is ignored (acknowledged and counted). Messages about a pull request or issue
share its thread key; a delivery whose sender is a bot is marked ``bot`` for routes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..models import BatchableMessage, ContentType
from ._fields import as_int, clip, obj, required, text
from .base import Adapted, PayloadError, SourceEvent

__all__ = ["EVENTS", "adapt"]

SOURCE = "github"

_PR_ACTIONS = {
    "opened",
    "reopened",
    "closed",
    "ready_for_review",
    "review_requested",
    "converted_to_draft",
}
_REVIEW_STATES = {
    "approved": "approved",
    "changes_requested": "changes requested",
    "commented": "commented",
}
_ISSUE_ACTIONS = {"opened", "reopened", "closed", "assigned"}
_FAILED = {"failure", "timed_out", "startup_failure"}
_QUIET = {"cancelled", "skipped", "neutral", "stale"}
_SEVERITY_PRIORITY = {
    "critical": "critical",
    "high": "high",
    "error": "high",
    "medium": "medium",
    "moderate": "medium",
    "warning": "medium",
    "low": "low",
    "note": "low",
}
_ALERT_CLOSED = {
    "fixed",
    "dismissed",
    "auto_dismissed",
    "closed_by_user",
    "resolved",
}


@dataclass(frozen=True, slots=True)
class _Delivery:
    """What every message of one delivery shares."""

    event: str
    action: str
    delivery: str
    repository: str
    repo_url: str
    sender: str
    bot: bool

    def make(
        self,
        content_type: ContentType,
        data: dict[str, Any],
        *,
        priority: str = "medium",
        severity: str = "",
        thread_key: str | None = None,
    ) -> SourceEvent:
        metadata: dict[str, Any] = {
            "source": SOURCE,
            "event": self.event,
            "delivery": self.delivery,
        }
        if self.action:
            metadata["action"] = self.action
        if self.bot:
            metadata["bot"] = True
        if thread_key:
            metadata["thread_key"] = thread_key
        if self.repository:
            data.setdefault("repository", self.repository)
        message = BatchableMessage(
            id=f"github:{self.delivery}",
            content_type=content_type,
            author=self.sender or None,
            priority=priority,
            data={k: v for k, v in data.items() if v not in ("", None, [])},
            metadata=metadata,
        )
        return SourceEvent(
            message,
            SOURCE,
            self.event,
            self.action,
            repository=self.repository,
            severity=severity,
            author=self.sender,
            bot=self.bot,
        )


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name) or headers.get(name.lower()) or ""
    return clip(value.strip(), 200)


def _delivery_id(headers: Mapping[str, str], payload: Mapping[str, Any]) -> str:
    delivery = _header(headers, "X-GitHub-Delivery")
    if delivery:
        return delivery
    # Not sent by GitHub itself; a stable id keeps resent copies of the same body deduped.
    canonical = json.dumps(payload, sort_keys=True, default=str, ensure_ascii=True)
    return "body-" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _pull_request_data(pr: Mapping[str, Any], payload: Mapping[str, Any]) -> dict[str, Any]:
    number = as_int(pr, "number") or as_int(payload, "number")
    if number is None:
        raise PayloadError("pull_request.number", "expected the pull request's number")
    return {
        "number": number,
        "title": text(pr, "title", limit=300),
        "url": text(pr, "html_url"),
        "head": text(pr, "head", "ref"),
        "base": text(pr, "base", "ref"),
    }


def _pull_request(d: _Delivery, payload: Mapping[str, Any]) -> SourceEvent | str:
    if d.action not in _PR_ACTIONS:
        return f"pull_request action {d.action or '(none)'!r} is not reported"
    pr = required(payload, "pull_request")
    data = _pull_request_data(pr, payload)
    status = d.action
    if d.action == "closed":
        status = "merged" if pr.get("merged") is True or text(pr, "merged_at") else "closed"
    data["action"] = status
    if d.action == "review_requested":
        reviewer = text(payload, "requested_reviewer", "login") or text(
            payload, "requested_team", "name"
        )
        data["reviewers"] = [reviewer] if reviewer else []
    if d.action == "opened":
        data["additions"] = as_int(pr, "additions")
        data["deletions"] = as_int(pr, "deletions")
        data["description"] = text(pr, "body", limit=500)
    labels = [text(label, "name") for label in pr.get("labels") or [] if isinstance(label, dict)]
    data["labels"] = [label for label in labels if label][:10]
    return d.make(ContentType.PR_UPDATE, data)


def _review(d: _Delivery, payload: Mapping[str, Any]) -> SourceEvent | str:
    if d.action != "submitted":
        return f"pull_request_review action {d.action or '(none)'!r} is not reported"
    review = required(payload, "review")
    state = text(review, "state").lower()
    if state not in _REVIEW_STATES:
        return f"review state {state or '(none)'!r} is not reported"
    data = _pull_request_data(required(payload, "pull_request"), payload)
    data["action"] = _REVIEW_STATES[state]
    data["reviewer"] = d.sender
    data["url"] = text(review, "html_url") or data["url"]
    data["description"] = text(review, "body", limit=500)
    return d.make(ContentType.PR_UPDATE, data)


def _review_comment(d: _Delivery, payload: Mapping[str, Any]) -> SourceEvent | str:
    if d.action != "created":
        return f"pull_request_review_comment action {d.action or '(none)'!r} is not reported"
    comment = required(payload, "comment")
    data = _pull_request_data(required(payload, "pull_request"), payload)
    data["action"] = "commented"
    data["url"] = text(comment, "html_url") or data["url"]
    data["description"] = text(comment, "body", limit=500)
    data["path"] = text(comment, "path")
    return d.make(ContentType.PR_UPDATE, data)


def _issue_title(issue: Mapping[str, Any], number: int) -> str:
    return f"#{number} {text(issue, 'title', limit=300)}".strip()


def _issue_number(issue: Mapping[str, Any]) -> int:
    number = as_int(issue, "number")
    if number is None:
        raise PayloadError("issue.number", "expected the issue's number")
    return number


def _issue_comment(d: _Delivery, payload: Mapping[str, Any]) -> SourceEvent | str:
    if d.action != "created":
        return f"issue_comment action {d.action or '(none)'!r} is not reported"
    issue = required(payload, "issue")
    comment = required(payload, "comment")
    number = _issue_number(issue)
    if "pull_request" in issue:  # GitHub sends PR conversation comments as issue comments
        data = {
            "number": number,
            "title": text(issue, "title", limit=300),
            "url": text(comment, "html_url") or text(issue, "html_url"),
            "action": "commented",
            "description": text(comment, "body", limit=500),
        }
        return d.make(ContentType.PR_UPDATE, data)
    data = {
        "title": _issue_title(issue, number),
        "number": number,
        "url": text(comment, "html_url") or text(issue, "html_url"),
        "status": "commented",
        "description": text(comment, "body", limit=500),
    }
    return d.make(ContentType.GENERIC, data, thread_key=f"issue:{d.repository}#{number}")


def _issues(d: _Delivery, payload: Mapping[str, Any]) -> SourceEvent | str:
    if d.action not in _ISSUE_ACTIONS:
        return f"issues action {d.action or '(none)'!r} is not reported"
    issue = required(payload, "issue")
    number = _issue_number(issue)
    status = d.action
    reason = text(issue, "state_reason")
    if d.action == "closed" and reason == "not_planned":
        status = "closed (not planned)"
    data = {
        "title": _issue_title(issue, number),
        "number": number,
        "url": text(issue, "html_url"),
        "status": status,
        "assignee": text(payload, "assignee", "login") or text(issue, "assignee", "login"),
    }
    if d.action == "opened":
        data["description"] = text(issue, "body", limit=500)
    return d.make(ContentType.GENERIC, data, thread_key=f"issue:{d.repository}#{number}")


def _push(d: _Delivery, payload: Mapping[str, Any]) -> SourceEvent | str:
    ref = text(payload, "ref")
    if not ref:
        raise PayloadError("ref", "expected the pushed ref, e.g. refs/heads/main")
    if payload.get("deleted") is True:
        return f"push deleting {ref} is not reported"
    commits = payload.get("commits")
    count = len(commits) if isinstance(commits, list) else 0
    if ref.startswith("refs/tags/"):
        name = ref.removeprefix("refs/tags/")
        title = f"tag {name} pushed"
    else:
        name = ref.removeprefix("refs/heads/")
        title = f"{count} commit{'s' if count != 1 else ''} to {name}"
    data = {
        "title": title,
        "branch": name,
        "commits": count,
        "status": "force-pushed" if payload.get("forced") is True else "pushed",
        "url": text(payload, "compare"),
        "description": text(payload, "head_commit", "message", limit=500).split("\n", 1)[0],
    }
    return d.make(ContentType.GENERIC, data)


def _conclusion_priority(conclusion: str) -> str:
    if conclusion in _FAILED:
        return "high"
    return "low" if conclusion in _QUIET else "medium"


def _ci(d: _Delivery, payload: Mapping[str, Any]) -> SourceEvent | str:
    if d.action != "completed":
        return f"{d.event} action {d.action or '(none)'!r} is not reported"
    run = required(payload, d.event)
    conclusion = text(run, "conclusion").lower() or "completed"
    sha = text(run, "head_sha")
    if d.event == "workflow_run":
        pipeline = text(run, "name") or text(run, "display_title") or "workflow"
        build = as_int(run, "run_number")
        url = text(run, "html_url")
    elif d.event == "workflow_job":
        workflow = text(run, "workflow_name")
        job = text(run, "name") or "job"
        pipeline = f"{workflow} / {job}" if workflow else job
        build = as_int(run, "run_attempt")
        url = text(run, "html_url")
    else:  # check_suite
        pipeline = text(run, "app", "name") or "checks"
        build = None
        url = f"{d.repo_url}/commit/{sha}/checks" if d.repo_url and sha else ""
    branch = text(run, "head_branch")
    data = {
        "pipeline": pipeline,
        "branch": branch,
        "status": conclusion,
        "build_number": build,
        "commit": sha,
        "url": url,
        "title": f"{pipeline} {conclusion}" + (f" on {branch}" if branch else ""),
    }
    return d.make(ContentType.CI_BUILD, data, priority=_conclusion_priority(conclusion))


def _deployment_status(d: _Delivery, payload: Mapping[str, Any]) -> SourceEvent | str:
    if d.action not in ("created", ""):
        return f"deployment_status action {d.action!r} is not reported"
    status = required(payload, "deployment_status")
    deployment = obj(payload, "deployment")
    state = text(status, "state").lower() or "unknown"
    version = text(deployment, "ref") or text(deployment, "sha")[:7]
    priority = "high" if state in ("failure", "error") else "medium"
    if state in ("inactive", "queued", "waiting", "pending"):
        priority = "low"
    data = {
        "service": d.repository.rsplit("/", 1)[-1] if d.repository else "",
        "environment": text(status, "environment") or text(deployment, "environment"),
        "version": version,
        "status": state,
        "url": text(status, "target_url")
        or text(status, "log_url")
        or text(status, "environment_url"),
        "description": text(status, "description", limit=500),
    }
    return d.make(ContentType.DEPLOYMENT, data, priority=priority)


def _release(d: _Delivery, payload: Mapping[str, Any]) -> SourceEvent | str:
    if d.action != "published":
        return f"release action {d.action or '(none)'!r} is not reported"
    release = required(payload, "release")
    tag = text(release, "tag_name")
    name = text(release, "name", limit=300) or tag
    data = {
        "title": f"Release {name}" if name else "Release",
        "version": tag,
        "status": "pre-release" if release.get("prerelease") is True else "published",
        "url": text(release, "html_url"),
        "description": text(release, "body", limit=500),
    }
    return d.make(ContentType.GENERIC, data)


def _security_alert(d: _Delivery, payload: Mapping[str, Any]) -> SourceEvent | str:
    alert = required(payload, "alert")
    number = as_int(alert, "number")
    if d.event == "dependabot_alert":
        advisory = obj(alert, "security_advisory")
        package = text(alert, "dependency", "package", "name") or text(
            alert, "security_vulnerability", "package", "name"
        )
        severity = text(advisory, "severity") or text(alert, "security_vulnerability", "severity")
        name = f"Dependabot: {package}" if package else "Dependabot alert"
        description = text(advisory, "summary", limit=500)
    elif d.event == "code_scanning_alert":
        rule = obj(alert, "rule")
        severity = text(rule, "security_severity_level") or text(rule, "severity")
        name = "Code scanning: " + (text(rule, "description") or text(rule, "name") or "alert")
        description = text(alert, "tool", "name")
    else:  # secret_scanning_alert
        severity = "high"
        kind = text(alert, "secret_type_display_name") or text(alert, "secret_type")
        name = f"Secret scanning: {kind}" if kind else "Secret scanning alert"
        description = text(alert, "resolution")
    severity = severity.lower()
    closed = d.action in _ALERT_CLOSED
    priority = "low" if closed else _SEVERITY_PRIORITY.get(severity, "medium")
    fingerprint = f"{d.event}:{d.repository}#{number}" if number is not None else ""
    data = {
        "alertname": name,
        "severity": severity,
        "status": d.action or "created",
        "url": text(alert, "html_url"),
        "description": description,
        "fingerprint": fingerprint,
        "service": d.repository,
    }
    return d.make(ContentType.ALERT, data, priority=priority, severity=severity)


_HANDLERS: dict[str, Callable[[_Delivery, Mapping[str, Any]], SourceEvent | str]] = {
    "pull_request": _pull_request,
    "pull_request_review": _review,
    "pull_request_review_comment": _review_comment,
    "issue_comment": _issue_comment,
    "issues": _issues,
    "push": _push,
    "workflow_run": _ci,
    "check_suite": _ci,
    "workflow_job": _ci,
    "deployment_status": _deployment_status,
    "release": _release,
    "dependabot_alert": _security_alert,
    "code_scanning_alert": _security_alert,
    "secret_scanning_alert": _security_alert,
}
#: The events this adapter turns into messages (``ping`` is answered, not batched).
EVENTS = ("ping", *_HANDLERS)


def adapt(payload: object, headers: Mapping[str, str]) -> Adapted:
    """Turn one GitHub delivery into its message, or say why it is ignored.

    *headers* must carry ``X-GitHub-Event`` (any case); raises :class:`PayloadError` naming
    the field when the payload is not what the event says.
    """
    event = _header(headers, "X-GitHub-Event")
    if not event:
        raise PayloadError("X-GitHub-Event", "header missing: which event is this?")
    if not isinstance(payload, dict):
        raise PayloadError("body", "expected a JSON object")
    if event == "ping":
        return Adapted(SOURCE, event, ignored="ping", note=text(payload, "zen") or "pong")
    handler = _HANDLERS.get(event)
    if handler is None:
        return Adapted.ignore(SOURCE, event, f"event {event!r} is not reported")
    sender = obj(payload, "sender")
    login = text(sender, "login", limit=255)
    delivery = _Delivery(
        event=event,
        action=text(payload, "action", limit=100),
        delivery=_delivery_id(headers, payload),
        repository=text(payload, "repository", "full_name", limit=255),
        repo_url=text(payload, "repository", "html_url"),
        sender=login,
        bot=text(sender, "type") == "Bot" or login.endswith("[bot]"),
    )
    outcome = handler(delivery, payload)
    if isinstance(outcome, str):
        return Adapted.ignore(
            SOURCE, f"{event}.{delivery.action}" if delivery.action else event, outcome
        )
    return Adapted(SOURCE, event, (outcome,))
