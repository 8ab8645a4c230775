"""Example webhook bodies shaped as each provider documents them, and request signing.

Used by the demo, the tests, the benchmarks and ``docs/sources.md``: enough of each real
payload (the fields slack-batcher reads plus the usual surrounding ones) to look like what
GitHub, Jira and Alertmanager send, without their full size. :func:`signed_request` returns
the exact bytes and headers a provider would send.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from ._samples_github import github_event, stable_number
from .verify import sign

__all__ = [
    "alert",
    "alertmanager_notification",
    "github_event",
    "jira_event",
    "signed_request",
]


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
    issue_id = str(10_000 + stable_number(key) % 90_000)
    account = {"accountId": f"5b10ac8d82e05b22cc7d{stable_number(user) % 10_000:04d}"}
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
    instance: str = "",
) -> dict[str, Any]:
    """Return one alert of an Alertmanager notification (*instance*: its ``instance`` label)."""
    labels = {"alertname": alertname, "severity": severity, "service": service, "env": "prod"}
    identity = "/".join(part for part in (alertname, service, instance) if part)
    if instance:
        labels["instance"] = instance
    return {
        "status": status,
        "labels": labels,
        "annotations": {"summary": description or f"{alertname} on {service}"},
        "startsAt": starts_at,
        "endsAt": "2026-03-02T10:00:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": f"https://prometheus.acme.dev/graph?g0.expr={alertname}",
        "fingerprint": fingerprint or f"{stable_number(identity) * 2654435761 % 16**16:016x}",
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
