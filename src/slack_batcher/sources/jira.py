"""Jira Cloud admin webhooks (System → WebHooks) → messages.

The event is the body's ``webhookEvent``. Handled:

========================  ===================================================================
event                     message
========================  ===================================================================
``jira:issue_created``    "created", with the issue's status
``jira:issue_updated``    a status transition ("In Progress → Done", from the changelog) or
                          an assignee change; other field edits are ignored (noise)
``comment_created``       "commented", with the comment's first 500 characters
``jira:issue_deleted``    "deleted"
========================  ===================================================================

The message id is the ``X-Atlassian-Webhook-Identifier`` header (unchanged across Jira's
retries), else derived from the body's event, timestamp, issue, changelog and comment ids.
The priority is the issue's: Highest / Blocker / Critical → critical, High / Major → high,
Medium → medium, Low / Minor → low, Lowest / Trivial → lowest. Every message about one issue
shares its thread key (``jira:<KEY>``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from ..model.clock import utc_now
from ..model.message import BatchableMessage, ContentType
from ._fields import clip, obj, required, text, when
from ._provider_shapes import JIRA
from .base import Adapted, PayloadError, SourceEvent
from .shapes import check

__all__ = ["EVENTS", "adapt", "jira_priority"]

SOURCE = "jira"
EVENTS = ("jira:issue_created", "jira:issue_updated", "comment_created", "jira:issue_deleted")

_PRIORITIES = {
    "highest": "critical",
    "blocker": "critical",
    "critical": "critical",
    "high": "high",
    "major": "high",
    "medium": "medium",
    "low": "low",
    "minor": "low",
    "lowest": "lowest",
    "trivial": "lowest",
}


def jira_priority(name: str) -> str:
    """Map a Jira priority name to ours (unknown names: medium)."""
    return _PRIORITIES.get(name.strip().lower(), "medium")


def _person(value: object) -> str:
    return text(value, "displayName", limit=255) or text(value, "name", limit=255)


def _browse_url(issue: Mapping[str, Any], key: str) -> str:
    # "self" is the REST URL (https://acme.atlassian.net/rest/api/2/issue/10002).
    api = text(issue, "self")
    base, marker, _ = api.partition("/rest/api/")
    if marker and base.startswith(("https://", "http://")) and key:
        return f"{base}/browse/{key}"
    return ""


def _message_id(headers: Mapping[str, str], payload: Mapping[str, Any], event: str) -> str:
    identifier = headers.get("X-Atlassian-Webhook-Identifier") or headers.get(
        "x-atlassian-webhook-identifier"
    )
    if identifier and identifier.strip():
        return "jira:" + clip(identifier.strip(), 200)
    parts = [
        event,
        payload.get("timestamp"),
        obj(payload, "issue").get("id"),
        obj(payload, "issue").get("key"),
        obj(payload, "changelog").get("id"),
        obj(payload, "comment").get("id"),
    ]
    canonical = json.dumps(parts, default=str, ensure_ascii=True)
    return "jira:body-" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _changes(payload: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Return the changelog items by field name (lower case): from/to display strings."""
    found: dict[str, dict[str, str]] = {}
    items = obj(payload, "changelog").get("items")
    for item in items if isinstance(items, list) else []:
        name = (text(item, "field") or text(item, "fieldId")).lower()
        if name and name not in found:
            found[name] = {"from": text(item, "fromString"), "to": text(item, "toString")}
    return found


def adapt(payload: object, headers: Mapping[str, str]) -> Adapted:
    """Turn one Jira webhook into its message, or say why it is ignored.

    Raises :class:`PayloadError` naming the field when the payload is not what
    ``webhookEvent`` says (an issue event without an ``issue`` object).
    """
    if not isinstance(payload, dict):
        raise PayloadError("body", "expected a JSON object")
    event = text(payload, "webhookEvent", limit=100)
    if not event:
        raise PayloadError("webhookEvent", "missing: which event is this?")
    if event not in EVENTS:
        return Adapted.ignore(SOURCE, event, f"event {event!r} is not reported")
    check(JIRA, payload)
    issue = required(payload, "issue")
    fields = obj(issue, "fields")
    key = text(issue, "key", limit=100)
    if not key:
        raise PayloadError("issue.key", "expected the issue key, e.g. ACME-42")
    project = text(fields, "project", "key", limit=100) or key.rsplit("-", 1)[0]
    status = text(fields, "status", "name")
    author = _person(payload.get("user"))
    data: dict[str, Any] = {
        "key": key,
        "project": project,
        "summary": text(fields, "summary", limit=300),
        "issue_type": text(fields, "issuetype", "name"),
        "status": status,
        "url": _browse_url(issue, key),
        "assignee": _person(fields.get("assignee")),
        # For [people] mentions (when Jira sends it: not for every account's privacy setting).
        "assignee_email": text(fields, "assignee", "emailAddress", limit=255),
    }
    action = event.removeprefix("jira:")
    if event == "jira:issue_created":
        data["event"] = "created"
        data["description"] = text(fields, "description", limit=500)
    elif event == "jira:issue_deleted":
        data["event"] = "deleted"
        data["status"] = "deleted"
        data["previous_status"] = status
    elif event == "comment_created":
        comment = required(payload, "comment")
        author = _person(comment.get("author")) or _person(comment.get("updateAuthor")) or author
        data["event"] = "commented"
        data["comment"] = text(comment, "body", limit=500)
        data["description"] = data["comment"]
    else:
        changes = _changes(payload)
        if "status" in changes:
            action = "transitioned"
            data["event"] = "transitioned"
            data["from_status"] = changes["status"]["from"]
            data["to_status"] = changes["status"]["to"]
            data["status"] = changes["status"]["to"] or status
        elif "assignee" in changes:
            action = "assigned"
            data["event"] = "assigned"
            data["assignee"] = changes["assignee"]["to"] or "unassigned"
            data["status"] = f"assigned to {data['assignee']}"
        else:
            names = ", ".join(sorted(changes)) or "no changelog"
            return Adapted.ignore(
                SOURCE, event, f"issue updated without a status or assignee change ({names})"
            )
    priority_name = text(fields, "priority", "name")
    severity = priority_name.lower()
    at = when(payload, "timestamp")
    message = BatchableMessage(
        id=_message_id(headers, payload, event),
        content_type=ContentType.JIRA_UPDATE,
        author=author or None,
        priority=jira_priority(priority_name) if priority_name else "medium",
        data={k: v for k, v in data.items() if v not in ("", None)},
        metadata={"source": SOURCE, "event": event, "action": action},
        timestamp=at if at is not None else utc_now(),
    )
    routed = SourceEvent(
        message,
        SOURCE,
        event,
        action,
        project=project,
        severity=severity,
        author=author,
    )
    return Adapted(SOURCE, event, (routed,))
