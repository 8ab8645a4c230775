"""Alertmanager storms for tests and benchmarks: the notifications a real Alertmanager sends.

:func:`notifications` plays Alertmanager's dispatcher over a list of :class:`StormAlert`
(when each fires and resolves): alerts are grouped by ``group_by`` labels; a group's first
notification goes ``group_wait`` after its first alert fires; after that, every
``group_interval``, the *whole* group is sent again if it changed (an alert fired or
resolved since the last notification) — firing alerts and, with ``send_resolved``, the
alerts resolved since; a group whose alerts are all resolved and notified ends. Each body
is a webhook payload version 4 (``groupKey``, ``commonLabels``, ``truncatedAlerts``, each
alert's ``fingerprint``, ``labels``, ``annotations``, ``startsAt``/``endsAt``), as
Alertmanager's ``webhook_config`` documents it.

:func:`realistic_storm` is the storm of issue 18: four groups, 37 alerts on dozens of
instances, re-sends, a critical group in the middle, resolves.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "STORM_START",
    "Notification",
    "StormAlert",
    "notifications",
    "realistic_storm",
]

#: When :func:`realistic_storm` begins (seconds in a StormAlert count from here).
STORM_START = datetime(2026, 3, 2, 14, 10, tzinfo=UTC)
_NO_END = "0001-01-01T00:00:00Z"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass(frozen=True, slots=True)
class StormAlert:
    """One alert of a storm: its labels, and when it fires and resolves (seconds from start)."""

    alertname: str
    instance: str
    fires_at: float
    resolves_at: float | None = None
    severity: str = "warning"
    service: str = "api"
    summary: str = ""

    @property
    def labels(self) -> dict[str, str]:
        """The alert's label set (what Alertmanager fingerprints)."""
        return {
            "alertname": self.alertname,
            "instance": self.instance,
            "service": self.service,
            "severity": self.severity,
            "env": "prod",
        }

    @property
    def fingerprint(self) -> str:
        """A stable 16-hex-digit fingerprint of the label set."""
        canonical = json.dumps(sorted(self.labels.items()))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def firing(self, at: float) -> bool:
        """Return True when the alert fires at *at*."""
        return self.fires_at <= at and (self.resolves_at is None or at < self.resolves_at)

    def payload(self, at: float, start: datetime) -> dict[str, Any]:
        """Return the alert as it appears in a notification sent at *at*."""
        resolved = not self.firing(at)
        ends = _iso(start + timedelta(seconds=self.resolves_at or 0)) if resolved else _NO_END
        return {
            "status": "resolved" if resolved else "firing",
            "labels": self.labels,
            "annotations": {
                "summary": self.summary or f"{self.alertname} on {self.instance}",
                "runbook_url": f"https://runbooks.acme.dev/{self.alertname}",
            },
            "startsAt": _iso(start + timedelta(seconds=self.fires_at)),
            "endsAt": ends,
            "generatorURL": f"https://prometheus.acme.dev/graph?g0.expr={self.alertname}",
            "fingerprint": self.fingerprint,
        }


@dataclass(frozen=True, slots=True)
class Notification:
    """One webhook call: when (seconds from start), which group, the body, what it carries."""

    at: float
    group_key: str
    body: dict[str, Any]
    alerts: tuple[StormAlert, ...] = field(default=())


def _common(maps: Sequence[dict[str, str]]) -> dict[str, str]:
    first = maps[0]
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in maps[1:])}


def _body(
    group: dict[str, str], key: str, sent: list[StormAlert], at: float, start: datetime
) -> dict[str, Any]:
    alerts = [a.payload(at, start) for a in sent]
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "version": "4",
        "groupKey": key,
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": "slack-batcher",
        "groupLabels": group,
        "commonLabels": _common([a["labels"] for a in alerts]),
        "commonAnnotations": _common([a["annotations"] for a in alerts]),
        "externalURL": "https://alertmanager.acme.dev",
        "alerts": alerts,
    }


def notifications(
    alerts: Iterable[StormAlert],
    *,
    group_by: Sequence[str] = ("alertname", "service"),
    group_wait: float = 30,
    group_interval: float = 300,
    send_resolved: bool = True,
    start: datetime = STORM_START,
) -> list[Notification]:
    """Return the notifications Alertmanager sends for *alerts*, in time order."""
    groups: dict[tuple[str, ...], list[StormAlert]] = {}
    for alert in alerts:
        groups.setdefault(tuple(alert.labels[name] for name in group_by), []).append(alert)
    sent: list[Notification] = []
    for values, members in groups.items():
        labels = dict(zip(group_by, values, strict=True))
        key = "{}:{" + ", ".join(f'{k}="{v}"' for k, v in labels.items()) + "}"
        at = min(a.fires_at for a in members) + group_wait
        notified: set[tuple[str, str]] = set()  # (fingerprint, status) last sent
        done: set[str] = set()  # resolved and notified: gone from the group
        last_change = max(max(a.fires_at, a.resolves_at or 0) for a in members)
        while at <= last_change + group_interval and len(done) < len(members):
            current = [a for a in members if a.fires_at <= at and a.fingerprint not in done]
            if not send_resolved:
                current = [a for a in current if a.firing(at)]
            state = {(a.fingerprint, "firing" if a.firing(at) else "resolved") for a in current}
            if current and state != notified:
                body = _body(labels, key, current, at, start)
                sent.append(Notification(at, key, body, tuple(current)))
                notified = state
            done.update(a.fingerprint for a in current if not a.firing(at))
            at += group_interval
    sent.sort(key=lambda n: n.at)
    return sent


def realistic_storm() -> list[StormAlert]:
    """Return issue 18's storm: 37 alerts in four groups over ~20 minutes, 12 notifications.

    HighErrorRate on api-01…api-24 (20 within the first minute, 4 more at minute 8; api-01…12
    resolve at minute 14, the rest at minute 20); HighLatency on api-25…32 (half resolve at
    minute 10, half at 15); InstanceDown, critical, on 3 instances at minute 7 (resolved at
    minute 12); DiskSpaceLow on db-01 from minute 2 and db-02 from minute 10, still firing.
    """
    storm: list[StormAlert] = []
    for n in range(1, 25):
        storm.append(
            StormAlert(
                "HighErrorRate",
                f"api-{n:02d}",
                (n - 1) * 3 if n <= 20 else 480,
                840 if n <= 12 else 1200,
                summary=f"5xx ratio above 5% on api-{n:02d}",
            )
        )
    for n in range(25, 33):
        storm.append(
            StormAlert(
                "HighLatency", f"api-{n}", n + 6, 600 if n < 29 else 900, summary="p99 above 2 s"
            )
        )
    for n in (3, 7, 11):
        storm.append(
            StormAlert(
                "InstanceDown",
                f"api-{n:02d}",
                420,
                720,
                severity="critical",
                summary=f"api-{n:02d} has been unreachable for 1 minute",
            )
        )
    for name, fires in (("db-01", 120), ("db-02", 600)):
        storm.append(
            StormAlert(
                "DiskSpaceLow",
                name,
                fires,
                None,
                service="db",
                summary=f"/var/lib/postgresql on {name} is 92% full",
            )
        )
    return storm
