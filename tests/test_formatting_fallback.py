"""Formatter failures through a real MessageBatcher: fallback, counters, metadata, pending."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from slack_batcher import (
    BatchConfig,
    BatchFormatterContext,
    FormatOptions,
    FormatterError,
    MessageBatcher,
    MessageType,
    SlackMessage,
    SlackMessageFormatterFactory,
    validate_message,
)
from tests.factories import pr

MakeBatcher = Callable[..., MessageBatcher]


def exploding(context: BatchFormatterContext, options: FormatOptions) -> SlackMessage:
    raise KeyError("template 'pr_batch' missing")


def oversized_header(context: BatchFormatterContext, options: FormatOptions) -> SlackMessage:
    header = {"type": "header", "text": {"type": "plain_text", "text": "x" * 200}}
    return SlackMessage(blocks=[header], text="fine")


def factory_with(formatter: Callable[..., SlackMessage], name: str) -> SlackMessageFormatterFactory:
    factory = SlackMessageFormatterFactory()
    factory.register(MessageType.PR_BATCH, formatter, name=name)
    return factory


def add_prs(batcher: MessageBatcher, count: int) -> SlackMessage | None:
    flushed = None
    for i in range(count):
        flushed = batcher.add_message(pr(f"gh-{i}", number=40 + i, title=f"Change {i}"), "C1")
    return flushed


def counters(batcher: MessageBatcher) -> dict[str, int]:
    return dict(batcher.get_batch_stats()["formatter"])


def test_a_full_batch_is_rendered_by_the_digest_formatter(make_batcher: MakeBatcher) -> None:
    batcher = make_batcher(formatter_factory=SlackMessageFormatterFactory())
    message = add_prs(batcher, 5)
    assert message is not None
    assert message.metadata["formatter"] == "digest"
    assert message.blocks[0]["text"]["text"] == "5 updates in acme/api"
    assert counters(batcher) == {"formatter_used": 1, "fallback_used": 0, "formatter_errors": 0}


def test_a_formatter_that_raises_is_replaced_by_the_fallback_and_counted(
    make_batcher: MakeBatcher,
) -> None:
    batcher = make_batcher(formatter_factory=factory_with(exploding, "team-template"))
    message = add_prs(batcher, 5)
    assert message is not None
    assert validate_message(message) == []
    assert "Change 0" in message.text
    assert message.metadata["formatter"] == "fallback"
    assert "team-template" in message.metadata["fallback_reason"]
    assert "template 'pr_batch' missing" in message.metadata["fallback_reason"]
    assert message.metadata["formatter_error"] == "FormatterError"
    assert counters(batcher) == {"formatter_used": 0, "fallback_used": 1, "formatter_errors": 1}


def test_a_formatter_returning_invalid_blocks_is_replaced_by_the_fallback(
    make_batcher: MakeBatcher,
) -> None:
    batcher = make_batcher(formatter_factory=factory_with(oversized_header, "big-header"))
    message = add_prs(batcher, 5)
    assert message is not None
    assert message.metadata["formatter"] == "fallback"
    reason = message.metadata["fallback_reason"]
    assert "big-header" in reason
    assert "blocks[0].text.text: 200 characters; the limit is 150" in reason
    assert counters(batcher) == {"formatter_used": 0, "fallback_used": 1, "formatter_errors": 1}


def test_without_fallback_formatting_the_error_propagates_and_the_batch_stays_pending(
    make_batcher: MakeBatcher,
) -> None:
    config = BatchConfig(fallback_formatting=False)
    batcher = make_batcher(config, formatter_factory=factory_with(exploding, "team-template"))
    add_prs(batcher, 4)
    with pytest.raises(FormatterError, match="team-template"):
        add_prs(batcher, 5)
    assert batcher.inspect_pending_batches()["total_messages"] == 5
    assert batcher.flush_all_batches() == {}
    assert batcher.inspect_pending_batches()["total_messages"] == 5
    assert counters(batcher)["formatter_errors"] == 2
    assert counters(batcher)["fallback_used"] == 0


def test_with_formatter_integration_off_the_factory_is_not_consulted(
    make_batcher: MakeBatcher,
) -> None:
    config = BatchConfig(enable_formatter_integration=False)
    batcher = make_batcher(config, formatter_factory=factory_with(exploding, "never-called"))
    message = add_prs(batcher, 5)
    assert message is not None
    assert message.metadata["formatter"] == "fallback"
    assert "fallback_reason" not in message.metadata
    assert counters(batcher) == {"formatter_used": 0, "fallback_used": 1, "formatter_errors": 0}


def test_without_a_factory_the_fallback_formatter_is_used(make_batcher: MakeBatcher) -> None:
    batcher = make_batcher()
    message = add_prs(batcher, 5)
    assert message is not None
    assert message.metadata["formatter"] == "fallback"
    assert validate_message(message) == []
    assert counters(batcher)["fallback_used"] == 1


def test_a_failing_batch_formatter_leaves_single_posts_alone(make_batcher: MakeBatcher) -> None:
    batcher = make_batcher(formatter_factory=factory_with(exploding, "team-template"))
    batcher.add_message(pr("gh-1"), "C1")
    [message] = batcher.flush_all_batches()["C1"]
    assert message.metadata["formatter"] == "single"
    assert message.metadata["message_type"] == "pr_update"
    assert counters(batcher) == {"formatter_used": 1, "fallback_used": 0, "formatter_errors": 0}


def test_a_paged_batch_flushes_with_continuation_pages_on_the_channel(
    make_batcher: MakeBatcher,
) -> None:
    config = BatchConfig(max_batch_size=12, items_per_page=5)
    batcher = make_batcher(config, formatter_factory=SlackMessageFormatterFactory())
    message = add_prs(batcher, 12)
    assert message is not None
    assert [page.metadata["page"] for page in message.pages] == [1, 2, 3]
    assert all(page.channel == "C1" for page in message.pages)
    assert message.blocks[-1]["elements"][0]["text"] == "…and 7 more, continued below"
    assert validate_message(message) == []
