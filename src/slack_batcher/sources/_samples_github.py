"""GitHub webhook bodies shaped as GitHub documents them (see :mod:`.samples`)."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["github_event", "stable_number"]

_GH = "https://github.com"
_API = "https://api.github.com"


def stable_number(value: str) -> int:
    """Return a number derived from *value*, the same in every run (unlike ``hash``)."""
    return zlib.crc32(value.encode())


def _user(login: str) -> dict[str, Any]:
    bot = login.endswith("[bot]")
    return {
        "login": login,
        "id": stable_number(login) % 10_000_000,
        "type": "Bot" if bot else "User",
        "html_url": f"{_GH}/{login.removesuffix('[bot]')}",
        "site_admin": False,
    }


def _repository(full_name: str) -> dict[str, Any]:
    owner, _, name = full_name.partition("/")
    return {
        "id": stable_number(full_name) % 100_000_000,
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


def _gh_run(
    repo: str,
    event: str,
    action: str | None,
    number: int,
    sha: str,
    branch: str,
    at: str,
    fields: dict[str, Any],
) -> dict[str, Any]:
    """Return the run object of a workflow_run / workflow_job / check_suite event."""
    run: dict[str, Any] = {
        "id": fields.get("run_id", 40000 + number),
        "head_branch": branch,
        "head_sha": sha,
        "status": "completed" if action == "completed" else "in_progress",
        "conclusion": fields.get("conclusion", "success") if action == "completed" else None,
        "updated_at": at,
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
    return run


def _gh_alert(
    event: str, repo: str, number: int, at: str, fields: dict[str, Any]
) -> dict[str, Any]:
    """Return the alert object of a dependabot / code scanning / secret scanning event."""
    severity = fields.get("severity", "high")
    kind = event.removesuffix("_alert").replace("_", "-")
    alert_body: dict[str, Any] = {
        "number": number,
        "state": "open",
        "html_url": f"{_GH}/{repo}/security/{kind}/{number}",
        "updated_at": at,
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
    return alert_body


@dataclass(frozen=True, slots=True)
class _Gh:
    """What a GitHub sample body is built from."""

    event: str
    action: str | None
    repo: str
    sender: str
    number: int
    at: str
    fields: dict[str, Any]

    @property
    def sha(self) -> str:
        return str(self.fields.get("sha", "56113ae9c0d2b6f1e4a7b8c9d0e1f2a3b4c5d6e7"))

    @property
    def branch(self) -> str:
        return str(self.fields.get("branch", "main"))


def _gh_ping(c: _Gh) -> dict[str, Any]:
    return {"zen": "Keep it logically awesome.", "hook_id": 1, "hook": {"type": "Organization"}}


def _gh_pull_request(c: _Gh) -> dict[str, Any]:
    pr = _pull_request(c.repo, c.number, {"author": c.sender, **c.fields})
    pr["updated_at"] = c.at
    body: dict[str, Any] = {"number": c.number, "pull_request": pr}
    if c.action == "review_requested":
        body["requested_reviewer"] = _user(c.fields.get("reviewer", "bob"))
    return body


def _gh_review(c: _Gh) -> dict[str, Any]:
    body: dict[str, Any] = {"pull_request": _pull_request(c.repo, c.number, c.fields)}
    if c.event == "pull_request_review":
        body["review"] = {
            "id": 1,
            "user": _user(c.sender),
            "state": c.fields.get("state", "approved"),
            "body": c.fields.get("body", ""),
            "html_url": f"{_GH}/{c.repo}/pull/{c.number}#pullrequestreview-1",
            "submitted_at": c.at,
        }
    else:
        body["comment"] = {
            "id": 2,
            "user": _user(c.sender),
            "body": c.fields.get("body", "Nit: rename this."),
            "path": c.fields.get("path", "src/app.py"),
            "created_at": c.at,
            "html_url": f"{_GH}/{c.repo}/pull/{c.number}#discussion_r2",
        }
    return body


def _gh_issue(c: _Gh) -> dict[str, Any]:
    fields = c.fields
    issue: dict[str, Any] = {
        "number": c.number,
        "title": fields.get("title", f"Issue {c.number}"),
        "html_url": f"{_GH}/{c.repo}/issues/{c.number}",
        "state": "closed" if c.action == "closed" else "open",
        "state_reason": fields.get("state_reason"),
        "user": _user(c.sender),
        "body": fields.get("body", ""),
        "assignee": _user(fields["assignee"]) if fields.get("assignee") else None,
        "updated_at": c.at,
    }
    if fields.get("on_pull_request"):
        issue["pull_request"] = {"url": f"{_API}/repos/{c.repo}/pulls/{c.number}"}
        issue["html_url"] = f"{_GH}/{c.repo}/pull/{c.number}"
    body: dict[str, Any] = {"issue": issue}
    if c.event == "issue_comment":
        body["comment"] = {
            "id": 3,
            "user": _user(c.sender),
            "body": fields.get("comment", "Looks good to me."),
            "html_url": f"{issue['html_url']}#issuecomment-3",
            "created_at": c.at,
        }
    if c.action == "assigned":
        body["assignee"] = _user(fields.get("assignee", "bob"))
    return body


def _gh_push(c: _Gh) -> dict[str, Any]:
    commits = [
        {"id": f"{i:040x}", "message": f"Commit {i}", "timestamp": c.at,
         "author": {"username": c.sender}}
        for i in range(int(c.fields.get("commits", 1)))
    ]  # fmt: skip
    return {
        "ref": c.fields.get("ref", f"refs/heads/{c.branch}"),
        "before": "0" * 40,
        "after": c.sha,
        "created": False,
        "deleted": bool(c.fields.get("deleted", False)),
        "forced": bool(c.fields.get("forced", False)),
        "compare": f"{_GH}/{c.repo}/compare/{'0' * 12}...{c.sha[:12]}",
        "commits": commits,
        "head_commit": commits[-1] if commits else None,
        "pusher": {"name": c.sender},
    }


def _gh_ci(c: _Gh) -> dict[str, Any]:
    return {c.event: _gh_run(c.repo, c.event, c.action, c.number, c.sha, c.branch, c.at, c.fields)}


def _gh_deployment(c: _Gh) -> dict[str, Any]:
    environment = c.fields.get("environment", "production")
    ref = c.fields.get("ref", "v2.40.0")
    return {
        "deployment": {"id": 7, "ref": ref, "sha": c.sha, "environment": environment},
        "deployment_status": {
            "id": 8,
            "state": c.fields.get("state", "success"),
            "environment": environment,
            "description": c.fields.get("body", ""),
            "target_url": c.fields.get("url", f"https://deploy.acme.dev/{c.repo}/{ref}"),
            "creator": _user(c.sender),
            "updated_at": c.at,
        },
    }


def _gh_release(c: _Gh) -> dict[str, Any]:
    tag = c.fields.get("tag", "v2.40.0")
    return {
        "release": {
            "tag_name": tag,
            "name": c.fields.get("title", tag),
            "html_url": f"{_GH}/{c.repo}/releases/tag/{tag}",
            "prerelease": bool(c.fields.get("prerelease", False)),
            "body": c.fields.get("body", "Bug fixes."),
            "author": _user(c.sender),
            "published_at": c.at,
        }
    }


def _gh_security(c: _Gh) -> dict[str, Any]:
    return {"alert": _gh_alert(c.event, c.repo, c.number, c.at, c.fields)}


_GH_BUILDERS: dict[str, Callable[[_Gh], dict[str, Any]]] = {
    "ping": _gh_ping,
    "pull_request": _gh_pull_request,
    "pull_request_review": _gh_review,
    "pull_request_review_comment": _gh_review,
    "issues": _gh_issue,
    "issue_comment": _gh_issue,
    "push": _gh_push,
    "workflow_run": _gh_ci,
    "workflow_job": _gh_ci,
    "check_suite": _gh_ci,
    "deployment_status": _gh_deployment,
    "release": _gh_release,
    "dependabot_alert": _gh_security,
    "code_scanning_alert": _gh_security,
    "secret_scanning_alert": _gh_security,
}


def github_event(
    event: str,
    action: str | None = None,
    *,
    repo: str = "acme/api",
    sender: str = "alice",
    number: int = 42,
    at: str = "2026-03-02T10:00:00Z",
    **fields: Any,
) -> dict[str, Any]:
    """Return a GitHub webhook body for *event* / *action* (fields fill in the details).

    *at* (ISO 8601) is when it happened: the object's ``updated_at`` / ``submitted_at`` / ….
    Common *fields*: ``title``, ``merged``, ``reviewer``, ``state`` (review state),
    ``conclusion``, ``name`` (workflow), ``branch``, ``run_number``, ``sha``, ``commits``,
    ``environment``, ``ref``, ``tag``, ``package``, ``severity``, ``body``. Any other
    *event* gets just the repository, sender and action.
    """
    body: dict[str, Any] = {"repository": _repository(repo), "sender": _user(sender)}
    if action is not None:
        body["action"] = action
    builder = _GH_BUILDERS.get(event)
    if builder is not None:
        body.update(builder(_Gh(event, action, repo, sender, number, at, fields)))
    return body
