"""``[server] record_path`` / ``serve --record FILE``: accepted webhook deliveries, replayable.

Each webhook delivery the service took (authenticated, well-formed, answered 2xx:
accepted, duplicate, dropped, unrouted or ignored — a replay under other routes may route
what these dropped; GitHub's ``ping`` excepted) is appended as one JSON line in the format
``slack-batcher replay`` reads::

    {"at": 12.5, "time": "2026-03-02T09:00:12.500000+00:00", "source": "github",
     "event": "pull_request", "delivery": "<X-GitHub-Delivery>", "body": {…}}

``at`` counts seconds from the file's first delivery (an existing file is continued: its
first line fixes the origin), ``time`` is when it arrived. Only the payload and the event
name and delivery id are written: never a signature, a token or any other header. A
recording that cannot be written is logged and never fails the delivery.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path

from ..model.clock import Clock

__all__ = ["DeliveryRecorder"]

logger = logging.getLogger(__name__)

#: The header naming each source's delivery id, and GitHub's event header.
_DELIVERY_HEADERS = {"github": "x-github-delivery", "jira": "x-atlassian-webhook-identifier"}
_EVENT_HEADER = "x-github-event"


def _origin_of(path: Path) -> datetime | None:
    """Return the time of ``at = 0`` in an existing recording (None: empty or unreadable)."""
    try:
        with path.open(encoding="utf-8") as handle:
            first = handle.readline()
        row = json.loads(first)
        return datetime.fromisoformat(row["time"]) - timedelta(seconds=float(row["at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


class DeliveryRecorder:
    """Appends accepted webhook deliveries to a JSON-lines file (see the module docstring)."""

    def __init__(self, path: Path, clock: Clock) -> None:
        self.path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._origin: datetime | None = _origin_of(path) if path.exists() else None
        self._failed = False

    def record(self, source: str, body: object, headers: Mapping[str, str]) -> None:
        """Append one delivery: *body* (the parsed payload) and its event name and id."""
        now = self._clock.now()
        with self._lock:
            origin = self._origin if self._origin is not None else now
            self._origin = origin
            line: dict[str, object] = {
                "at": round(max(0.0, (now - origin).total_seconds()), 3),
                "time": now.isoformat(),
                "source": source,
            }
            if source == "github":
                line["event"] = headers.get(_EVENT_HEADER, "")
            delivery = headers.get(_DELIVERY_HEADERS.get(source, ""), "")
            if delivery:
                line["delivery"] = delivery
            line["body"] = body
            try:
                text = json.dumps(line, ensure_ascii=False, separators=(",", ":"))
                with self.path.open("a", encoding="utf-8") as handle:
                    handle.write(text + "\n")
                self._failed = False
            except (OSError, TypeError, ValueError) as exc:
                if not self._failed:  # once per run of failures, not once per delivery
                    logger.error("cannot record webhook deliveries to %s: %s", self.path, exc)
                self._failed = True
