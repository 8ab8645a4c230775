"""GitHub operations events: CI runs, deployments, releases and security alerts.

Each handler returns the event for its message, or a string saying why it is ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..model.message import ContentType
from ._fields import as_int, obj, required, text, when
from ._github_common import Delivery
from .base import SourceEvent

__all__ = ["ci", "deployment_status", "release", "security_alert"]

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


def _conclusion_priority(conclusion: str) -> str:
    if conclusion in _FAILED:
        return "high"
    return "low" if conclusion in _QUIET else "medium"


#: GitHub's conclusions and deployment states as people say them (others shown as sent).
_SAID = {
    "success": "passed",
    "failure": "failed",
    "timed_out": "timed out",
    "startup_failure": "failed to start",
    "action_required": "action required",
    "cancelled": "cancelled",
    "skipped": "skipped",
    "neutral": "neutral",
    "stale": "stale",
}
_DEPLOY_SAID = {
    "success": "succeeded",
    "failure": "failed",
    "error": "errored",
    "in_progress": "in progress",
}


def ci(d: Delivery, payload: Mapping[str, Any]) -> SourceEvent | str:
    """Report a completed workflow run, workflow job or check suite as a CI build."""
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
        "status": _SAID.get(conclusion, conclusion),
        "conclusion": conclusion,
        "build_number": build,
        "commit": sha,
        "url": url,
        "title": f"{pipeline} {_SAID.get(conclusion, conclusion)}"
        + (f" on {branch}" if branch else ""),
    }
    at = when(run, "updated_at") or when(run, "completed_at")
    return d.make(ContentType.CI_BUILD, data, priority=_conclusion_priority(conclusion), at=at)


def deployment_status(d: Delivery, payload: Mapping[str, Any]) -> SourceEvent | str:
    """Report a deployment status (failure and error are high priority)."""
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
        "status": _DEPLOY_SAID.get(state, state),
        "state": state,
        "url": text(status, "target_url")
        or text(status, "log_url")
        or text(status, "environment_url"),
        "description": text(status, "description", limit=500),
    }
    return d.make(ContentType.DEPLOYMENT, data, priority=priority, at=when(status, "updated_at"))


def release(d: Delivery, payload: Mapping[str, Any]) -> SourceEvent | str:
    """Report a published release."""
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
    return d.make(ContentType.GENERIC, data, at=when(release, "published_at"))


def security_alert(d: Delivery, payload: Mapping[str, Any]) -> SourceEvent | str:
    """Report a Dependabot, code scanning or secret scanning alert."""
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
    at = when(alert, "updated_at")
    return d.make(ContentType.ALERT, data, priority=priority, severity=severity, at=at)
