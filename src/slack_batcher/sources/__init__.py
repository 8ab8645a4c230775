"""Webhook sources: one adapter per provider, turning its payloads into messages.

``ADAPTERS`` maps a source name to its pure adapter function ``(payload, headers) ->
Adapted``; ``verify`` holds the signature and token checks. See docs/sources.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from . import alertmanager, github, jira
from .base import Adapted, PayloadError, SourceEvent

__all__ = ["ADAPTERS", "SOURCE_NAMES", "Adapted", "Adapter", "PayloadError", "SourceEvent"]

Adapter = Callable[[object, Mapping[str, str]], Adapted]

#: Every provider's adapter, by the name used in URLs, settings and routes.
ADAPTERS: dict[str, Adapter] = {
    "github": github.adapt,
    "jira": jira.adapt,
    "alertmanager": alertmanager.adapt,
}
SOURCE_NAMES = tuple(ADAPTERS)
