"""What every message of one GitHub delivery shares (used by the GitHub adapter modules)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..model.message import BatchableMessage, ContentType
from ._fields import clip
from .base import SourceEvent

__all__ = ["SOURCE", "Delivery", "delivery_id", "header"]

SOURCE = "github"


@dataclass(frozen=True, slots=True)
class Delivery:
    """What every message of one delivery shares."""

    event: str
    action: str
    delivery: str
    repository: str
    repo_url: str
    sender: str
    bot: bool

    def make(
        self,
        content_type: ContentType,
        data: dict[str, Any],
        *,
        priority: str = "medium",
        severity: str = "",
        thread_key: str | None = None,
        at: datetime | None = None,
    ) -> SourceEvent:
        metadata: dict[str, Any] = {
            "source": SOURCE,
            "event": self.event,
            "delivery": self.delivery,
        }
        if self.action:
            metadata["action"] = self.action
        if self.bot:
            metadata["bot"] = True
        if thread_key:
            metadata["thread_key"] = thread_key
        if self.repository:
            data.setdefault("repository", self.repository)
        extra: dict[str, Any] = {"timestamp": at} if at is not None else {}
        message = BatchableMessage(
            id=f"github:{self.delivery}",
            content_type=content_type,
            author=self.sender or None,
            priority=priority,
            data={k: v for k, v in data.items() if v not in ("", None, [])},
            metadata=metadata,
            **extra,
        )
        return SourceEvent(
            message,
            SOURCE,
            self.event,
            self.action,
            repository=self.repository,
            severity=severity,
            author=self.sender,
            bot=self.bot,
        )


def header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name) or headers.get(name.lower()) or ""
    return clip(value.strip(), 200)


def delivery_id(headers: Mapping[str, str], payload: Mapping[str, Any]) -> str:
    delivery = header(headers, "X-GitHub-Delivery")
    if delivery:
        return delivery
    # Not sent by GitHub itself; a stable id keeps resent copies of the same body deduped.
    canonical = json.dumps(payload, sort_keys=True, default=str, ensure_ascii=True)
    return "body-" + hashlib.sha256(canonical.encode()).hexdigest()[:32]
