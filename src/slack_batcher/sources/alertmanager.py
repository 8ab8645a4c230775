"""Prometheus Alertmanager ``webhook_config`` (payload version 4) → one message per alert.

Each alert of ``alerts[]`` becomes a message; its labels and annotations are kept
(``data.labels`` / ``data.annotations``; routes match ``labels.<name>`` and ``severity``),
and what the layouts read is put where they read it: ``data.instance`` (the ``instance``
label, else ``host``, ``hostname``, ``pod``, ``node``), ``data.description`` (the
``summary`` annotation, else ``description``), ``data.fingerprint`` (the alert's identity:
a re-sent alert updates its state in a digest, it is not another alert).
The ``severity`` label (else the group's common one) sets the priority: critical / page /
emergency → critical, error / high / major → high, warning → medium, info / low → low,
anything else medium; a resolved alert is low. The message id is
``am:<fingerprint>:<status>:<startsAt>``, so Alertmanager's repeat notifications of an
unchanged alert are duplicates; a resolved alert names its firing message in
``data.refers_to`` and shares its thread key (from ``groupKey`` and the fingerprint).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from ..model.clock import utc_now
from ..model.message import BatchableMessage, ContentType
from ._fields import as_int, labels_of, text, when
from ._provider_shapes import ALERTMANAGER
from .base import Adapted, PayloadError, SourceEvent
from .shapes import check

__all__ = ["EVENT", "adapt", "severity_priority"]

SOURCE = "alertmanager"
EVENT = "alert"
#: Alerts taken from one notification (Alertmanager's own ``max_alerts`` caps it too).
MAX_ALERTS = 500

_PRIORITIES = {
    "critical": "critical",
    "page": "critical",
    "emergency": "critical",
    "fatal": "critical",
    "error": "high",
    "high": "high",
    "major": "high",
    "warning": "medium",
    "warn": "medium",
    "medium": "medium",
    "info": "low",
    "low": "low",
    "minor": "low",
    "none": "lowest",
}


def severity_priority(severity: str) -> str:
    """Map a ``severity`` label to a priority (unknown: medium)."""
    return _PRIORITIES.get(severity.strip().lower(), "medium")


#: Labels naming where an alert fires, most specific first (the layouts show it).
_PLACE_LABELS = ("instance", "host", "hostname", "pod", "node")


def _place(labels: Mapping[str, str]) -> str:
    return next((labels[name] for name in _PLACE_LABELS if labels.get(name)), "")


def _fingerprint(alert: Mapping[str, Any], labels: Mapping[str, str]) -> str:
    given = text(alert, "fingerprint", limit=64)
    if given:
        return given
    canonical = json.dumps(sorted(labels.items()), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def adapt(payload: object, headers: Mapping[str, str]) -> Adapted:
    """Turn one Alertmanager notification into a message per alert.

    Raises :class:`PayloadError` naming the field when the body is not a version-4
    notification (``alerts`` not a list, an alert not an object, another ``version``).
    """
    if not isinstance(payload, dict):
        raise PayloadError("body", "expected a JSON object")
    version = payload.get("version")
    if version is not None and str(version) != "4":
        raise PayloadError("version", f"webhook payload version {version!r}; only 4 is read")
    alerts = payload.get("alerts")
    if not isinstance(alerts, list):
        raise PayloadError("alerts", "expected a list of alerts")
    if not alerts:
        return Adapted.ignore(SOURCE, EVENT, "notification without alerts")
    check(ALERTMANAGER, payload)
    group_key = text(payload, "groupKey", limit=1000)
    group = hashlib.sha256(group_key.encode("utf-8", "replace")).hexdigest()[:12]
    common = labels_of(payload, "commonLabels")
    external = text(payload, "externalURL")
    receiver = text(payload, "receiver", limit=200)
    # Alertmanager's max_alerts drops alerts from a notification and says how many here.
    truncated = (as_int(payload, "truncatedAlerts") or 0) + max(0, len(alerts) - MAX_ALERTS)
    events: list[SourceEvent] = []
    for index, alert in enumerate(alerts[:MAX_ALERTS]):
        if not isinstance(alert, dict):
            raise PayloadError(f"alerts[{index}]", "expected a JSON object")
        labels = {**common, **labels_of(alert, "labels")}
        annotations = labels_of(alert, "annotations")
        status = (text(alert, "status") or text(payload, "status") or "firing").lower()
        severity = labels.get("severity", "").lower()
        fingerprint = _fingerprint(alert, labels)
        starts_at = text(alert, "startsAt", limit=64)
        firing_id = f"am:{fingerprint}:firing:{starts_at}"
        data: dict[str, Any] = {
            "alertname": labels.get("alertname") or "alert",
            "severity": severity,
            "status": status,
            "service": labels.get("service") or labels.get("job") or labels.get("namespace"),
            "instance": _place(labels),
            "description": annotations.get("summary") or annotations.get("description"),
            "url": text(alert, "generatorURL") or annotations.get("runbook_url") or external,
            "fingerprint": fingerprint,
            "starts_at": starts_at,
            "labels": labels,
            "annotations": annotations,
            "group_key": group_key,
        }
        if status == "resolved":
            data["ends_at"] = text(alert, "endsAt", limit=64)
            data["refers_to"] = firing_id
        at = (when(alert, "endsAt") if status == "resolved" else None) or when(alert, "startsAt")
        message = BatchableMessage(
            id=f"am:{fingerprint}:{status}:{starts_at}",
            content_type=ContentType.ALERT,
            priority="low" if status == "resolved" else severity_priority(severity),
            data={k: v for k, v in data.items() if v not in ("", None)},
            metadata={
                "source": SOURCE,
                "event": EVENT,
                "action": status,
                "receiver": receiver,
                "thread_key": f"alert:{group}:{fingerprint}",
                **({"truncated_alerts": truncated} if truncated else {}),
            },
            timestamp=at if at is not None else utc_now(),
        )
        events.append(SourceEvent(message, SOURCE, EVENT, status, labels=labels, severity=severity))
    return Adapted(SOURCE, EVENT, tuple(events))
