"""Hostile input: whatever events say, output is valid, inert and says what it left out."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slack_batcher import (
    BatchableMessage,
    BatchFormatterContext,
    BatchGroup,
    BatchType,
    ContentType,
    FormatOptions,
    SlackMessage,
    SlackMessageFormatterFactory,
    escape_mrkdwn,
    validate_message,
)
from slack_batcher.formatting import format_fallback
from tests.factories import T0

SAFE_URL = "https://example.com/ok/"
MAPPED_AUTHOR, MAPPED_ID = "mapped-user", "U0MAPPED"
#: What the formatter itself may produce: links to the events' own http(s) URLs, mapped mentions.
OWN_MARKUP = re.compile(r"<https://example\.com/ok/\d+\|[^<>]*>|<@U0MAPPED>")
HUGE = "<!channel> & " * 8_000  # ~100k characters

NASTY = st.sampled_from(
    [
        "<!channel>",
        "<!here>",
        "<!everyone>",
        "<@U123>",
        "<#C123|general>",
        "<https://evil.example|click>",
        "<http://evil.example>",
        "@channel",
        "@here hi",
        "&",
        "&amp;",
        "&lt;",
        "\x00\x07\x1b[31m",
        "\n\r\t\u2028",
        "*_~`>",
        HUGE,
        "",
        " ",
    ]
)
TEXT = st.one_of(
    NASTY,
    st.text(max_size=60),
    st.lists(st.one_of(NASTY, st.text(max_size=20)), max_size=4).map("".join),
)
VALUE: st.SearchStrategy[Any] = st.one_of(
    TEXT,
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.lists(TEXT, max_size=3),
    st.dictionaries(st.text(max_size=5), TEXT, max_size=2),
)
KEYS = [
    "title", "summary", "name", "alertname", "repository", "project", "team", "service",
    "number", "action", "status", "state", "key", "severity", "description", "version",
    "environment", "pipeline", "branch", "build", "head", "base", "reviewer", "labels",
    "previous_status", "assignee", "issue_type", "yesterday", "today", "blockers", "owner",
    "blocked_by", "impact", "commit", "value", "body", "message", "text",
]  # fmt: skip


@st.composite
def messages(draw: st.DrawFn, index: int) -> BatchableMessage:
    data = draw(st.dictionaries(st.sampled_from(KEYS), VALUE, max_size=8))
    data["url"] = draw(st.one_of(st.just(f"{SAFE_URL}{index}"), TEXT, st.none()))
    return BatchableMessage(
        id=f"m{index}",
        content_type=draw(st.sampled_from(list(ContentType))),
        timestamp=T0 + timedelta(seconds=draw(st.integers(0, 100_000))),
        author=draw(st.one_of(st.none(), TEXT, st.just(MAPPED_AUTHOR))),
        priority=draw(st.sampled_from(["critical", "high", "medium", "low", "lowest"])),
        data=data,
    )


@st.composite
def contexts(draw: st.DrawFn) -> BatchFormatterContext:
    count = draw(st.integers(1, 14))
    group = BatchGroup(
        id="b_prop",
        channel_id="C1",
        batch_type=BatchType.CUSTOM,
        created_at=T0,
        expires_at=T0,
        messages=[draw(messages(i)) for i in range(count)],
    )
    return BatchFormatterContext.from_batch(
        group,
        priority_ordering=draw(st.booleans()),
        enable_pagination=draw(st.booleans()),
        items_per_page=draw(st.integers(1, 12)),
    )


OPTIONS = st.builds(
    FormatOptions,
    compact=st.booleans(),
    emoji=st.booleans(),
    user_ids=st.just({MAPPED_AUTHOR: MAPPED_ID}),
)


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def assert_safe_and_complete(message: SlackMessage, context: BatchFormatterContext) -> None:
    assert validate_message(message) == []
    item_lines = 0
    for page in message.pages:
        assert page.text.strip()
        for text in [page.text, *strings(page.blocks)]:
            leftover = OWN_MARKUP.sub("", text)
            assert "<" not in leftover and ">" not in leftover, text[:300]
            assert not re.search(r"&(?!amp;|lt;|gt;)", leftover), text[:300]
            assert not re.search(r"@(channel|here|everyone)\b", text, re.IGNORECASE)
        for block in page.blocks:
            if block["type"] == "section":
                body = block["text"]["text"]
                item_lines += sum(1 for line in body.split("\n") if line.startswith("• "))
    if context.message_count > 1:  # a single post has no bullet: it is the item
        assert item_lines == context.message_count  # nothing silently cut
    assert sorted(message.metadata["message_ids"]) == sorted(
        m.id for m in context.batch_group.messages
    )


SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(context=contexts(), options=OPTIONS)
def test_hostile_events_render_valid_inert_complete_messages(
    context: BatchFormatterContext, options: FormatOptions
) -> None:
    # One line per event, so that "nothing cut" can count lines (folding is tested apart).
    factory = SlackMessageFormatterFactory(options.replace(fold_repeats=False))
    assert_safe_and_complete(factory.format_batch(context), context)


@SETTINGS
@given(context=contexts())
def test_fallback_formatter_is_as_safe_on_hostile_events(context: BatchFormatterContext) -> None:
    message = format_fallback(context)
    assert validate_message(message) == []
    for page in message.pages:
        assert page.text.strip()
        for text in [page.text, *strings(page.blocks)]:
            leftover = OWN_MARKUP.sub("", text)
            assert "<" not in leftover and ">" not in leftover, text[:300]


@given(st.text())
def test_escaped_text_never_contains_slack_control_sequences(text: str) -> None:
    escaped = escape_mrkdwn(text)
    assert "<" not in escaped and ">" not in escaped
    assert not re.search(r"&(?!amp;|lt;|gt;)", escaped)


def test_only_mapped_authors_become_mentions() -> None:
    factory = SlackMessageFormatterFactory(FormatOptions(user_ids={"alice": "U0ALICE"}))
    event = BatchableMessage(
        id="e1", content_type="generic", author="alice", data={"title": "<@U999> hi"}
    )
    rendered = str(factory.format_message(event).to_dict())
    assert "<@U0ALICE>" in rendered
    assert "<@U999>" not in rendered
    bob = BatchableMessage(id="e2", content_type="generic", author="bob", data={"title": "x"})
    assert "<@" not in str(factory.format_message(bob).to_dict())


def test_a_custom_item_formatter_cannot_smuggle_a_mention_through_its_url() -> None:
    from slack_batcher import (
        BatchConfig,
        ItemView,
        ManualClock,
        MessageBatcher,
        SlackMessageFormatterFactory,
    )
    from tests.factories import pr

    factory = SlackMessageFormatterFactory()
    factory.register_item(
        "pr_update", lambda message, options: ItemView(title="x", url="https://x|@here> <!channel")
    )
    batcher = MessageBatcher(BatchConfig(), factory, clock=ManualClock())
    batcher.add_message(pr("a"), "C1")
    batcher.add_message(pr("b"), "C1")
    message = batcher.flush_all_batches()["C1"][0]
    rendered = json.dumps(message.to_dict())
    assert "<!channel" not in rendered and "|@here>" not in rendered
