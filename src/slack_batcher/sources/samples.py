"""Example webhook bodies shaped as each provider documents them, and request signing.

Used by the demo, the tests, the benchmarks and ``docs/sources.md``: enough of each real
payload (the fields slack-batcher reads plus the usual surrounding ones) to look like what
GitHub, Jira and Alertmanager send, without their full size. :func:`signed_request` returns
the exact bytes and headers a provider would send.
"""

from __future__ import annotations

import json
import uuid
import zlib
from typing import Any

from .verify import sign

__all__ = [
    "alert",
    "alertmanager_notification",
    "github_event",
    "jira_event",
    "signed_request",
]

_GH = "https://github.com"
_API = "https://api.github.com"


def _stable(value: str) -> int:
    """Return a number derived from *value*, the same in every run (unlike ``hash``)."""
    return zlib.crc32(value.encode())


def _user(login: str) -> dict[str, Any]:
    bot = login.endswith("[bot]")
    return {
        "login": login,
        "id": _stable(login) % 10_000_000,
        "type": "Bot" if bot else "User",
        "html_url": f"{_GH}/{login.removesuffix('[bot]')}",
        "site_admin": False,
    }


def _repository(full_name: str) -> dict[str, Any]:
    owner, _, name = full_name.partition("/")
    return {
        "id": _stable(full_name) % 100_000_000,
        "name": name,
        "full_name": full_name,
        "private": True,
        "owner": {"login": owner, "type": "Organization"},
        "html_url": f"{_GH}/{full_name}",
        "url": f"{_API}/repos/{full_name}",
        "default_branch": "main",
    }


def _pull_request(repo: str, number: int, fields: dict[str, Any]) -> dict[str, Any]:
    author = fields.get("author", "alice")
    merged = bool(fields.get("merged", False))
    return {
        "url": f"{_API}/repos/{repo}/pulls/{number}",
        "html_url": f"{_GH}/{repo}/pull/{number}",
        "number": number,
        "state": fields.get("state", "open"),
        "title": fields.get("title", f"Change {number}"),
        "body": fields.get("body", ""),
        "user": _user(author),
        "draft": bool(fields.get("draft", False)),
        "merged": merged,
        "merged_at": "2026-03-02T10:00:00Z" if merged else None,
        "head": {"ref": fields.get("head", f"feature/{number}"), "sha": fields.get("sha", "")},
        "base": {"ref": fields.get("base", "main")},
        "additions": fields.get("additions", 10),
        "deletions": fields.get("deletions", 2),
        "labels": [{"name": name} for name in fields.get("labels", [])],
    }


def github_event(  # noqa: C901 - one small branch per event type, read top to bottom
    event: str,
    action: str | None = None,
    *,
    repo: str = "acme/api",
    sender: str = "alice",
    number: int = 42,
    **fields: Any,
) -> dict[str, Any]:
    """Return a GitHub webhook body for *event* / *action* (fields fill in the details).

    Common *fields*: ``title``, ``merged``, ``reviewer``, ``state`` (review state),
    ``conclusion``, ``name`` (workflow), ``branch``, ``run_number``, ``sha``, ``commits``,
    ``environment``, ``ref``, ``tag``, ``package``, ``severity``, ``body``.
    """
    body: dict[str, Any] = {"repository": _repository(repo), "sender": _user(sender)}
    if action is not None:
        body["action"] = action
    sha = fields.get("sha", "56113ae9c0d2b6f1e4a7b8c9d0e1f2a3b4c5d6e7")
    branch = fields.get("branch", "main")
    if event == "ping":
        body.update(zen="Keep it logically awesome.", hook_id=1, hook={"type": "Organization"})
    elif event == "pull_request":
        body["number"] = number
        body["pull_request"] = _pull_request(repo, number, {"author": sender, **fields})
        if action == "review_requested":
            body["requested_reviewer"] = _user(fields.get("reviewer", "bob"))
    elif event in ("pull_request_review", "pull_request_review_comment"):
        body["pull_request"] = _pull_request(repo, number, fields)
        html = f"{_GH}/{repo}/pull/{number}#pullrequestreview-1"
        if event == "pull_request_review":
            body["review"] = {
                "id": 1,
                "user": _user(sender),
                "state": fields.get("state", "approved"),
                "body": fields.get("body", ""),
                "html_url": html,
                "submitted_at": "2026-03-02T10:00:00Z",
            }
        else:
            body["comment"] = {
                "id": 2,
                "user": _user(sender),
                "body": fields.get("body", "Nit: rename this."),
                "path": fields.get("path", "src/app.py"),
                "html_url": f"{_GH}/{repo}/pull/{number}#discussion_r2",
            }
    elif event in ("issues", "issue_comment"):
        issue: dict[str, Any] = {
            "number": number,
            "title": fields.get("title", f"Issue {number}"),
            "html_url": f"{_GH}/{repo}/issues/{number}",
            "state": "closed" if action == "closed" else "open",
            "state_reason": fields.get("state_reason"),
            "user": _user(sender),
            "body": fields.get("body", ""),
            "assignee": _user(fields["assignee"]) if fields.get("assignee") else None,
        }
        if fields.get("on_pull_request"):
            issue["pull_request"] = {"url": f"{_API}/repos/{repo}/pulls/{number}"}
            issue["html_url"] = f"{_GH}/{repo}/pull/{number}"
        body["issue"] = issue
        if event == "issue_comment":
            body["comment"] = {
                "id": 3,
                "user": _user(sender),
                "body": fields.get("comment", "Looks good to me."),
                "html_url": f"{issue['html_url']}#issuecomment-3",
            }
        if action == "assigned":
            body["assignee"] = _user(fields.get("assignee", "bob"))
    elif event == "push":
        count = int(fields.get("commits", 1))
        ref = fields.get("ref", f"refs/heads/{branch}")
        commits = [
            {"id": f"{i:040x}", "message": f"Commit {i}", "author": {"username": sender}}
            for i in range(count)
        ]
        body.update(
            ref=ref,
            before="0" * 40,
            after=sha,
            created=False,
            deleted=bool(fields.get("deleted", False)),
            forced=bool(fields.get("forced", False)),
            compare=f"{_GH}/{repo}/compare/{'0' * 12}...{sha[:12]}",
            commits=commits,
            head_commit=commits[-1] if commits else None,
            pusher={"name": sender},
        )
    elif event in ("workflow_run", "workflow_job", "check_suite"):
        run: dict[str, Any] = {
            "id": fields.get("run_id", 40000 + number),
            "head_branch": branch,
            "head_sha": sha,
            "status": "completed" if action == "completed" else "in_progress",
            "conclusion": fields.get("conclusion", "success") if action == "completed" else None,
        }
        if event == "workflow_run":
            run.update(
                name=fields.get("name", "CI"),
                run_number=fields.get("run_number", number),
                html_url=f"{_GH}/{repo}/actions/runs/{run['id']}",
                event="push",
            )
        elif event == "workflow_job":
            run.update(
                name=fields.get("job", "test"),
                workflow_name=fields.get("name", "CI"),
                run_attempt=1,
                html_url=f"{_GH}/{repo}/actions/runs/{run['id']}/job/1",
            )
        else:
            run["app"] = {"name": fields.get("name", "GitHub Actions"), "slug": "github-actions"}
        body[event] = run
    elif event == "deployment_status":
        environment = fields.get("environment", "production")
        ref = fields.get("ref", "v2.40.0")
        body["deployment"] = {"id": 7, "ref": ref, "sha": sha, "environment": environment}
        body["deployment_status"] = {
            "id": 8,
            "state": fields.get("state", "success"),
            "environment": environment,
            "description": fields.get("body", ""),
            "target_url": fields.get("url", f"https://deploy.acme.dev/{repo}/{ref}"),
            "creator": _user(sender),
        }
    elif event == "release":
        tag = fields.get("tag", "v2.40.0")
        body["release"] = {
            "tag_name": tag,
            "name": fields.get("title", tag),
            "html_url": f"{_GH}/{repo}/releases/tag/{tag}",
            "prerelease": bool(fields.get("prerelease", False)),
            "body": fields.get("body", "Bug fixes."),
            "author": _user(sender),
        }
    elif event in ("dependabot_alert", "code_scanning_alert", "secret_scanning_alert"):
        severity = fields.get("severity", "high")
        kind = event.removesuffix("_alert").replace("_", "-")
        alert_body: dict[str, Any] = {
            "number": number,
            "state": "open",
            "html_url": f"{_GH}/{repo}/security/{kind}/{number}",
        }
        if event == "dependabot_alert":
            package = {"ecosystem": "pip", "name": fields.get("package", "requests")}
            alert_body["dependency"] = {"package": package, "manifest_path": "requirements.txt"}
            alert_body["security_advisory"] = {
                "ghsa_id": "GHSA-xxxx-yyyy-zzzz",
                "summary": fields.get("body", "Session fixation in requests"),
                "severity": severity,
            }
            alert_body["security_vulnerability"] = {"package": package, "severity": severity}
        elif event == "code_scanning_alert":
            alert_body["rule"] = {
                "id": "py/sql-injection",
                "name": "SqlInjection",
                "description": fields.get("title", "SQL query built from user-controlled sources"),
                "severity": "error",
                "security_severity_level": severity,
            }
            alert_body["tool"] = {"name": "CodeQL", "version": "2.20.0"}
        else:
            alert_body["secret_type"] = "github_personal_access_token"
            alert_body["secret_type_display_name"] = "GitHub Personal Access Token"
        body["alert"] = alert_body
    return body


def jira_event(
    event: str,
    key: str = "ACME-42",
    *,
    summary: str = "Add SSO for enterprise",
    status: str = "To Do",
    priority: str = "Medium",
    user: str = "Carol Danvers",
    site: str = "https://acme.atlassian.net",
    changes: dict[str, tuple[str, str]] | None = None,
    comment: str | None = None,
    timestamp: int = 1_772_440_200_000,
) -> dict[str, Any]:
    """Return a Jira Cloud webhook body (``webhookEvent`` *event*) about issue *key*.

    *changes* maps a field (``status``, ``assignee``) to (from, to) display strings.
    """
    project = key.rsplit("-", 1)[0]
    issue_id = str(10_000 + _stable(key) % 90_000)
    account = {"accountId": f"5b10ac8d82e05b22cc7d{_stable(user) % 10_000:04d}"}
    body: dict[str, Any] = {
        "timestamp": timestamp,
        "webhookEvent": event,
        "user": {**account, "displayName": user, "active": True},
        "issue": {
            "id": issue_id,
            "self": f"{site}/rest/api/2/issue/{issue_id}",
            "key": key,
            "fields": {
                "summary": summary,
                "issuetype": {"name": "Story"},
                "project": {"key": project, "name": project.title()},
                "status": {"name": status},
                "priority": {"name": priority},
                "assignee": None,
                "labels": [],
            },
        },
    }
    if event == "jira:issue_updated":
        body["issue_event_type_name"] = "issue_generic"
        items = [
            {"field": name, "fieldtype": "jira", "fromString": old, "toString": new}
            for name, (old, new) in (changes or {}).items()
        ]
        body["changelog"] = {"id": str(timestamp % 1_000_000), "items": items}
    if event.startswith("comment_"):
        body["comment"] = {
            "id": str(timestamp % 1_000_000),
            "body": comment or "Looks good.",
            "author": {**account, "displayName": user},
            "created": "2026-03-02T10:00:00.000+0000",
        }
    return body


def alert(
    alertname: str,
    *,
    severity: str = "warning",
    status: str = "firing",
    service: str = "api",
    starts_at: str = "2026-03-02T09:00:00Z",
    fingerprint: str | None = None,
    description: str = "",
) -> dict[str, Any]:
    """Return one alert of an Alertmanager notification."""
    labels = {"alertname": alertname, "severity": severity, "service": service, "env": "prod"}
    return {
        "status": status,
        "labels": labels,
        "annotations": {"summary": description or f"{alertname} on {service}"},
        "startsAt": starts_at,
        "endsAt": "2026-03-02T10:00:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": f"https://prometheus.acme.dev/graph?g0.expr={alertname}",
        "fingerprint": fingerprint
        or f"{_stable(alertname + '/' + service) * 2654435761 % 16**16:016x}",
    }


def alertmanager_notification(
    alerts: list[dict[str, Any]], receiver: str = "slack-batcher"
) -> dict[str, Any]:
    """Return an Alertmanager webhook (version 4) body carrying *alerts*."""
    names = sorted({a["labels"].get("alertname", "") for a in alerts if "labels" in a})
    firing = any(a.get("status") == "firing" for a in alerts)
    common = names[0] if len(names) == 1 else ""
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{common}"}}',
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": receiver,
        "groupLabels": {"alertname": common} if common else {},
        "commonLabels": {"alertname": common} if common else {},
        "commonAnnotations": {},
        "externalURL": "https://alertmanager.acme.dev",
        "alerts": alerts,
    }


def signed_request(
    source: str, body: dict[str, Any] | bytes, secret: str, *, event: str = "", delivery: str = ""
) -> tuple[bytes, dict[str, str]]:
    """Return (raw body, headers) as *source* would send them, signed with *secret*."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if source == "github":
        headers["X-GitHub-Event"] = event
        headers["X-GitHub-Delivery"] = delivery or str(uuid.uuid4())
        headers["X-Hub-Signature-256"] = sign(secret, raw)
    elif source == "jira":
        headers["X-Atlassian-Webhook-Identifier"] = delivery or str(uuid.uuid4())
        headers["X-Hub-Signature"] = sign(secret, raw)
    else:
        headers["Authorization"] = f"Bearer {secret}"
    return raw, headers
