"""Golden files: the exact Block Kit each kind of batch becomes.

Regenerate after an intended change with ``UPDATE_GOLDEN=1 pytest tests/test_formatting_golden.py``
and review the diff in git. A mismatch fails with a unified diff of the JSON.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from slack_batcher import (
    BatchableMessage,
    BatchFormatterContext,
    BatchGroup,
    BatchType,
    ContentType,
    SlackMessage,
    SlackMessageFormatterFactory,
    validate_message,
)
from tests.factories import T0, alert, jira, pr

GOLDEN = Path(__file__).parent / "golden"


def batch(messages: list[BatchableMessage], batch_type: BatchType) -> BatchGroup:
    return BatchGroup(
        id="b_golden",
        channel_id="C0DEV",
        batch_type=batch_type,
        created_at=T0,
        expires_at=T0 + timedelta(minutes=5),
        messages=messages,
    )


def render(group: BatchGroup, **context: Any) -> SlackMessage:
    factory = SlackMessageFormatterFactory()
    return factory.format_batch(BatchFormatterContext.from_batch(group, **context))


def minutes(n: int) -> Any:
    return T0 + timedelta(minutes=n)


def deploy(id: str, *, version: str, status: str, at: int) -> BatchableMessage:
    return BatchableMessage(
        id=id,
        content_type=ContentType.DEPLOYMENT,
        timestamp=minutes(at),
        author="deploybot",
        data={
            "service": "api",
            "version": version,
            "environment": "production",
            "status": status,
            "repository": "acme/api",
            "url": f"https://deploy.example.com/api/{version}",
        },
    )


def pr_batch_of_5() -> SlackMessage:
    actions = ["opened", "review_requested", "approved", "merged", "closed"]
    messages = [
        pr(
            f"gh-{i}",
            number=40 + i,
            title=["Add auth", "Fix login race", "Bump deps", "Rate limit API", "Docs: tokens"][i],
            action=actions[i],
            author=["alice", "bob", "carol"][i % 3],
            priority="high" if i == 3 else "medium",
            timestamp=minutes(2 * i),
        )
        for i in range(5)
    ]
    return render(batch(messages, BatchType.PR_ACTIVITY))


def mixed_batch() -> SlackMessage:
    messages = [
        pr("gh-1", number=42, title="Add auth", action="merged", timestamp=minutes(1)),
        jira("jira-1", key="API-7", summary="Token refresh", status="Done", timestamp=minutes(2)),
        alert("alert-1", name="HighLatency", service="api", timestamp=minutes(3)),
        deploy("deploy-1", version="1.4.2", status="succeeded", at=4),
        pr("gh-2", number=43, title="Retry on 429", action="opened", timestamp=minutes(5)),
    ]
    return render(batch(messages, BatchType.TEAM_ACTIVITY))


def alert_digest_with_critical_on_top() -> SlackMessage:
    messages = [
        alert("a-1", name="DiskFilling", severity="warning", priority="medium", timestamp=T0),
        alert("a-2", name="HighLatency", severity="warning", priority="high", timestamp=minutes(1)),
        alert(
            "a-3", name="APIDown", severity="critical", priority="critical", timestamp=minutes(2)
        ),
        alert("a-4", name="CertExpiry", severity="info", priority="low", timestamp=minutes(3)),
    ]
    return render(batch(messages, BatchType.ALERT_DIGEST))


def batch_of_one() -> SlackMessage:
    message = pr(
        "gh-42",
        title="Add auth",
        action="merged",
        head="feature/auth",
        base="main",
        reviewer="bob",
        description="Adds token auth to every endpoint.",
    )
    return render(batch([message], BatchType.PR_ACTIVITY))


def paged_60_items() -> SlackMessage:
    messages = [
        pr(
            f"gh-{i:02d}",
            number=100 + i,
            title=f"Change number {i}",
            author=f"dev{i % 4}",
            priority="critical" if i == 59 else "medium",
            timestamp=minutes(i),
        )
        for i in range(60)
    ]
    return render(batch(messages, BatchType.PR_ACTIVITY), items_per_page=25)


def ten_thousand_character_title() -> SlackMessage:
    title = ("Refactor <everything> & more " * 400)[:10_000]
    messages = [
        pr("gh-long", number=7, title=title, timestamp=T0),
        pr("gh-short", number=8, title="Small fix", timestamp=minutes(1)),
    ]
    return render(batch(messages, BatchType.PR_ACTIVITY))


CASES: dict[str, Callable[[], SlackMessage]] = {
    "pr_batch_of_5": pr_batch_of_5,
    "mixed_batch": mixed_batch,
    "alert_digest_critical_on_top": alert_digest_with_critical_on_top,
    "batch_of_one": batch_of_one,
    "paged_60_items": paged_60_items,
    "ten_thousand_character_title": ten_thousand_character_title,
}


def dump(message: SlackMessage) -> str:
    return json.dumps(message.to_dict(), indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("case", sorted(CASES))
def test_rendering_matches_the_golden_file(case: str) -> None:
    actual = dump(CASES[case]())
    path = GOLDEN / f"{case}.json"
    if os.environ.get("UPDATE_GOLDEN") or not path.exists():
        path.write_text(actual, encoding="utf-8")
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = difflib.unified_diff(
            expected.splitlines(),
            actual.splitlines(),
            f"golden/{case}.json",
            "rendered",
            lineterm="",
        )
        pytest.fail("rendering changed (UPDATE_GOLDEN=1 to accept):\n" + "\n".join(diff))


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_golden_file_is_valid_under_validate_message(case: str) -> None:
    raw = json.loads((GOLDEN / f"{case}.json").read_text(encoding="utf-8"))
    assert validate_message(SlackMessage.from_dict(raw)) == []


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_golden_block_is_what_slack_sdk_builds_and_accepts(case: str) -> None:
    raw = json.loads((GOLDEN / f"{case}.json").read_text(encoding="utf-8"))
    for page in SlackMessage.from_dict(raw).pages:
        for block in page.blocks:
            parsed = Block.parse(block)
            assert parsed is not None
            assert parsed.to_dict() == block  # to_dict() also runs slack_sdk's own validators


def test_rendering_twice_gives_identical_json() -> None:
    for make in CASES.values():
        assert dump(make()) == dump(make())


def test_batch_of_one_reads_as_a_normal_post_not_a_digest() -> None:
    message = batch_of_one()
    assert [b["type"] for b in message.blocks] == ["section", "context"]
    assert "1 update" not in json.dumps(message.blocks)
    assert message.text.startswith("PR update: #42 Add auth")


def test_critical_alert_is_the_first_item_of_its_digest() -> None:
    message = alert_digest_with_critical_on_top()
    first_item = message.blocks[2]["text"]["text"].splitlines()[0]
    assert "APIDown" in first_item
    assert ":red_circle:" in first_item
    assert message.metadata["message_ids"] == ["a-3", "a-2", "a-1", "a-4"]


def test_sixty_items_page_into_three_messages_that_say_what_follows() -> None:
    message = paged_60_items()
    assert [p.metadata["page"] for p in message.pages] == [1, 2, 3]
    assert message.blocks[-1]["elements"][0]["text"] == "…and 35 more, continued below"
    assert message.continuations[0].blocks[0]["elements"][0]["text"].startswith("(2/3)")
    assert message.continuations[0].blocks[-1]["elements"][0]["text"].startswith("…and 10 more")
    assert "…and" not in json.dumps(message.continuations[1].blocks)
    shown = sum(
        b["text"]["text"].count("\n• ") + b["text"]["text"].startswith("• ")
        for p in message.pages
        for b in p.blocks
        if b["type"] == "section"
    )
    assert shown == 60
    assert len(message.metadata["message_ids"]) == 60


def test_ten_thousand_character_title_is_cut_with_an_ellipsis() -> None:
    message = ten_thousand_character_title()
    line = message.blocks[2]["text"]["text"].splitlines()[0]
    assert "…>" in line  # the link label ends in "…", the link stays intact
    assert len(line) < 400
    assert len(message.text) < 1000
