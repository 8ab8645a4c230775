"""Golden file: a live digest as Slack shows it at the end of a storm, with its thread.

The storm mixes repeats, an alert that resolves, and a critical alert, through the runtime
into FakeSlack on a ManualClock. Regenerate after an intended change with
``UPDATE_GOLDEN=1 pytest tests/test_digest_golden.py`` and review the diff in git.
"""

from __future__ import annotations

import difflib
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from slack_batcher import (
    BatchableMessage,
    BatchingService,
    ContentType,
    ManualClock,
    MessageBatcher,
    SlackMessageFormatterFactory,
)
from slack_batcher.delivery.slack import SlackSender
from slack_batcher.testing import FakeSlack, Post

GOLDEN = Path(__file__).parent / "golden" / "live_digest.json"
T0 = datetime(2026, 3, 2, 14, 10, tzinfo=UTC)
TOKEN = "xoxb-fake-token"


def alert(n: int, name: str, instance: str, status: str = "firing", **extra: Any) -> Any:
    return BatchableMessage(
        id=f"am-{n:03d}",
        content_type=ContentType.ALERT,
        timestamp=T0 + timedelta(seconds=40 * n),
        priority=extra.pop("priority", "high" if status == "firing" else "low"),
        data={
            "alertname": name,
            "service": "api",
            "severity": extra.pop("severity", "warning"),
            "status": status,
            "instance": instance,
            "url": f"https://grafana.example.com/alerting/{name}",
        },
    )


STORM = [
    alert(1, "HighErrorRate", "api-1"),
    alert(2, "HighErrorRate", "api-7"),
    alert(3, "DiskSpaceLow", "api-2"),
    alert(4, "HighErrorRate", "api-3"),
    alert(5, "HighErrorRate", "api-4"),
    alert(6, "HighLatency", "api-5"),
    alert(7, "DiskSpaceLow", "api-2", "resolved"),
    alert(8, "HighLatency", "api-6"),
    alert(9, "PostgresReplicaLag", "db-1", priority="critical", severity="critical"),
    alert(10, "HighErrorRate", "api-1", "resolved"),
    alert(11, "HighLatency", "api-5", "resolved"),
    alert(12, "HighErrorRate", "api-8"),
]


def view(post: Post) -> dict[str, Any]:
    shown: dict[str, Any] = {"text": post.text, "blocks": post.blocks}
    if post.is_broadcast:
        shown["reply_broadcast"] = True
    return shown


async def test_a_live_digest_matches_the_golden_file() -> None:
    clock = ManualClock(T0)
    async with FakeSlack(token=TOKEN, clock=clock) as slack:
        factory = SlackMessageFormatterFactory()
        batcher = MessageBatcher(formatter_factory=factory, clock=clock, auto_ack=False)
        service = BatchingService(batcher, SlackSender(TOKEN, base_url=slack.base_url))
        async with service:
            for message in STORM:
                await service.submit(message, "C0ALERTS")
                await service.advance(40)
            await service.advance(timedelta(minutes=6))
        [parent] = [p for p in slack.posts_in("C0ALERTS") if not p.is_reply]
        thread = slack.replies("C0ALERTS", parent.ts)

    for blocks in [parent.blocks, *(p.blocks for p in thread)]:
        for block in blocks:
            assert Block.parse(block) is not None
    actual = json.dumps(
        {
            "parent": view(parent),
            "edits": len(parent.history),
            "first_version": {"text": parent.history[0].text},
            "thread": [view(p) for p in thread],
        },
        indent=2,
        ensure_ascii=False,
        sort_keys=True,
    )
    if os.environ.get("UPDATE_GOLDEN") or not GOLDEN.exists():
        GOLDEN.write_text(actual + "\n", encoding="utf-8")
    expected = GOLDEN.read_text(encoding="utf-8").rstrip("\n")
    if actual != expected:
        diff = difflib.unified_diff(
            expected.splitlines(), actual.splitlines(), "golden", "rendered", lineterm=""
        )
        pytest.fail("the live digest changed (UPDATE_GOLDEN=1 to accept):\n" + "\n".join(diff))
