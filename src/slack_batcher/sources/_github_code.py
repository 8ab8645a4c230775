"""GitHub code events: pull requests, reviews, comments, issues and pushes.

Each handler returns the event for its message, or a string saying why it is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..model.message import ContentType
from ._fields import as_int, required, text, when
from ._github_common import Delivery
from .base import PayloadError, SourceEvent

__all__ = ["issue_comment", "issues", "pull_request", "push", "review", "review_comment"]

_PR_ACTIONS = {
    "opened",
    "reopened",
    "closed",
    "ready_for_review",
    "review_requested",
    "converted_to_draft",
}
#: Actions shown as people say them (review_requested is worded by the formatter).
_PR_SAID = {"ready_for_review": "ready for review", "converted_to_draft": "converted to draft"}
_REVIEW_STATES = {
    "approved": "approved",
    "changes_requested": "changes requested",
    "commented": "commented",
}
_ISSUE_ACTIONS = {"opened", "reopened", "closed", "assigned"}

#: The title GitHub gives the commit of a merged pull request: squash ("Title (#12)") or
#: merge commit ("Merge pull request #12 from owner/branch").
_MERGED_PR = re.compile(r"\(#(\d+)\)\s*$|^Merge pull request #(\d+) from ")


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


def pull_request(d: Delivery, payload: Mapping[str, Any]) -> SourceEvent | str:
    """Report opened, reopened, merged / closed, ready, review requested, draft."""
    if d.action not in _PR_ACTIONS:
        return f"pull_request action {d.action or '(none)'!r} is not reported"
    pr = required(payload, "pull_request")
    data = _pull_request_data(pr, payload)
    status = _PR_SAID.get(d.action, d.action)
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
    return d.make(ContentType.PR_UPDATE, data, at=when(pr, "updated_at"))


def review(d: Delivery, payload: Mapping[str, Any]) -> SourceEvent | str:
    """Report a submitted review: approved, changes requested or commented."""
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
    return d.make(ContentType.PR_UPDATE, data, at=when(review, "submitted_at"))


def review_comment(d: Delivery, payload: Mapping[str, Any]) -> SourceEvent | str:
    """Report a new review comment on a pull request."""
    if d.action != "created":
        return f"pull_request_review_comment action {d.action or '(none)'!r} is not reported"
    comment = required(payload, "comment")
    data = _pull_request_data(required(payload, "pull_request"), payload)
    data["action"] = "commented"
    data["url"] = text(comment, "html_url") or data["url"]
    data["description"] = text(comment, "body", limit=500)
    data["path"] = text(comment, "path")
    return d.make(ContentType.PR_UPDATE, data, at=when(comment, "created_at"))


def _issue_title(issue: Mapping[str, Any], number: int) -> str:
    return f"#{number} {text(issue, 'title', limit=300)}".strip()


def _issue_number(issue: Mapping[str, Any]) -> int:
    number = as_int(issue, "number")
    if number is None:
        raise PayloadError("issue.number", "expected the issue's number")
    return number


def issue_comment(d: Delivery, payload: Mapping[str, Any]) -> SourceEvent | str:
    """Report a new comment on an issue, or on a pull request's conversation."""
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
        return d.make(ContentType.PR_UPDATE, data, at=when(comment, "created_at"))
    data = {
        "title": _issue_title(issue, number),
        "number": number,
        "url": text(comment, "html_url") or text(issue, "html_url"),
        "status": "commented",
        "description": text(comment, "body", limit=500),
    }
    return d.make(
        ContentType.GENERIC,
        data,
        thread_key=f"issue:{d.repository}#{number}",
        at=when(comment, "created_at"),
    )


def issues(d: Delivery, payload: Mapping[str, Any]) -> SourceEvent | str:
    """Report an issue opened, reopened, closed or assigned."""
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
    return d.make(
        ContentType.GENERIC,
        data,
        thread_key=f"issue:{d.repository}#{number}",
        at=when(issue, "updated_at"),
    )


def push(d: Delivery, payload: Mapping[str, Any]) -> SourceEvent | str:
    """Report a push: branch or tag, commit count and compare link."""
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
    head = text(payload, "head_commit", "message", limit=500).split("\n", 1)[0]
    data = {
        "title": title,
        "branch": name,
        "commits": count,
        "status": "force-pushed" if payload.get("forced") is True else "pushed",
        "url": text(payload, "compare"),
        "description": head,
    }
    merged = _merged_pr(d, payload, name, head) if ref.startswith("refs/heads/") else None
    return d.make(
        ContentType.GENERIC,
        data,
        thread_key=merged,
        at=when(payload, "head_commit", "timestamp"),
    )


def _merged_pr(d: Delivery, payload: Mapping[str, Any], branch: str, head: str) -> str | None:
    """Return the thread key of the pull request whose merge this push to the default branch is.

    GitHub sends the merge twice: ``pull_request`` closed and merged, and this push. The push
    goes to the pull request's thread, beside its merge, instead of a post of its own.
    """
    if not d.repository or branch != text(payload, "repository", "default_branch"):
        return None
    found = _MERGED_PR.search(head)
    if found is None:
        return None
    return f"pr:{d.repository.lower()}#{found.group(1) or found.group(2)}"
