"""Events posted to ``/v1/messages`` without a channel, seen by the routes as source ``api``.

The event name is the content type; ``action`` comes from ``data.action`` (else ``status``
or ``event``), ``repository`` / ``project`` / ``severity`` / ``labels`` from the data of the
same names, ``author`` from the message and ``bot`` from ``metadata.bot``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..model.message import BatchableMessage
from .base import SourceEvent

__all__ = ["SOURCE", "api_event"]

SOURCE = "api"


def _data_text(data: Mapping[str, Any], *names: str) -> str:
    for name in names:
        value = data.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool):
            return str(value)
    return ""


def api_event(message: BatchableMessage) -> SourceEvent:
    """Return what the routes match for an ``/v1/messages`` event."""
    data = message.data
    labels = data.get("labels")
    return SourceEvent(
        message,
        SOURCE,
        message.content_type.value,
        action=_data_text(data, "action", "status", "event"),
        repository=_data_text(data, "repository", "repo"),
        project=_data_text(data, "project"),
        severity=_data_text(data, "severity"),
        author=message.author or "",
        labels={str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {},
        bot=message.metadata.get("bot") is True,
    )
