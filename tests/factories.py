"""Builders for realistic test messages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slack_batcher import BatchableMessage, ContentType

T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)


def pr(
    id: str,
    *,
    author: str = "alice",
    repo: str = "acme/api",
    number: int = 42,
    title: str = "Add auth",
    action: str = "opened",
    priority: str = "medium",
    timestamp: datetime = T0,
    **extra: Any,
) -> BatchableMessage:
    return BatchableMessage(
        id=id,
        content_type=ContentType.PR_UPDATE,
        timestamp=timestamp,
        author=author,
        priority=priority,
        data={
            "repository": repo,
            "number": number,
            "title": title,
            "action": action,
            "url": f"https://github.com/{repo}/pull/{number}",
            **extra,
        },
    )


def jira(
    id: str,
    *,
    author: str = "alice",
    project: str = "acme/api",
    key: str = "API-7",
    summary: str = "Token refresh",
    status: str = "In Review",
    priority: str = "medium",
    timestamp: datetime = T0,
) -> BatchableMessage:
    return BatchableMessage(
        id=id,
        content_type=ContentType.JIRA_UPDATE,
        timestamp=timestamp,
        author=author,
        priority=priority,
        data={
            "project": project,
            "key": key,
            "summary": summary,
            "status": status,
            "url": f"https://acme.atlassian.net/browse/{key}",
        },
    )


def alert(
    id: str,
    *,
    name: str = "HighLatency",
    service: str = "api",
    severity: str = "warning",
    priority: str = "high",
    timestamp: datetime = T0,
) -> BatchableMessage:
    return BatchableMessage(
        id=id,
        content_type=ContentType.ALERT,
        timestamp=timestamp,
        priority=priority,
        data={
            "alertname": name,
            "service": service,
            "severity": severity,
            "description": f"{name} on {service}",
            "url": f"https://grafana.example.com/alerts/{name}",
        },
    )
