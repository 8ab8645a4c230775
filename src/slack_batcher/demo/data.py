"""The demo's package data: the bundled day of webhooks and the starter configuration.

Both ship inside the wheel (``slack_batcher/data/``), so ``slack-batcher demo`` and
``slack-batcher config init`` work from an installed package in any directory.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO, Any

from ..http.settings import ServiceSettings, load_settings

__all__ = ["SOURCES", "DemoDelivery", "demo_settings", "load_deliveries", "starter_config"]

SOURCES = ("github", "jira", "alertmanager")


def starter_config() -> str:
    """Return the text of the commented starter configuration (examples/slack-batcher.toml)."""
    return resources.files("slack_batcher").joinpath("data/slack-batcher.toml").read_text("utf-8")


@contextmanager
def _bundled(name: str) -> Iterator[Path]:
    with resources.as_file(resources.files("slack_batcher").joinpath(f"data/{name}")) as path:
        yield path


@dataclass(frozen=True, slots=True)
class DemoDelivery:
    """One webhook of the day: when it arrives (seconds after the start), from where, what."""

    at: float
    source: str
    body: dict[str, Any]
    event: str = ""
    delivery: str = ""
    #: When it was received (ISO 8601), as ``serve --record`` writes it; "" when unknown.
    time: str = ""


def _open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def load_deliveries(path: Path | None = None) -> list[DemoDelivery]:
    """Read a JSON-lines file of deliveries (default: the bundled day), in arrival order.

    A line is ``{"at": seconds after the start, "source": "github" | "jira" |
    "alertmanager", "body": {…}, "event": X-GitHub-Event, "delivery": id, "time": ISO}``
    (``event``, ``delivery`` and ``time`` optional); a ``.gz`` file is read gzipped. A bad
    line raises ValueError naming the file and line.
    """
    if path is None:
        with _bundled("demo-webhooks.jsonl") as bundled:
            return load_deliveries(bundled)
    deliveries: list[DemoDelivery] = []
    with _open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                source = str(row["source"])
                if source not in SOURCES:
                    raise ValueError(f"unknown source {source!r}")
                body = row["body"]
                if not isinstance(body, dict):
                    raise TypeError("body: expected a JSON object")
                at = row["at"]
                if isinstance(at, bool) or not isinstance(at, int | float) or not 0 <= at < 1e10:
                    raise ValueError(f"at: expected seconds since the start (>= 0), got {at!r}")
                deliveries.append(
                    DemoDelivery(
                        float(at),
                        source,
                        body,
                        str(row.get("event", "")),
                        str(row.get("delivery", "")),
                        str(row.get("time", "")),
                    )
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path.name} line {number}: {exc}") from None
    deliveries.sort(key=lambda d: d.at)
    return deliveries


def demo_settings(config: Path | None = None) -> ServiceSettings:
    """Return the settings the demo runs by: *config* (default: the starter file)."""
    if config is None:
        with _bundled("slack-batcher.toml") as bundled:
            return load_settings(bundled)
    return load_settings(config)
