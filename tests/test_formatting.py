"""Routing, registration, per-channel options, the data contract and validate_message."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from slack_batcher import (
    BatchableMessage,
    BatchFormatterContext,
    BatchGroup,
    BatchType,
    ConfigError,
    ContentType,
    FormatOptions,
    ItemView,
    MessageType,
    SlackMessage,
    SlackMessageFormatterFactory,
    validate_message,
)
from tests.factories import T0, alert, jira, pr


def group(*messages: BatchableMessage, channel: str = "C1") -> BatchGroup:
    return BatchGroup(
        id="b1",
        channel_id=channel,
        batch_type=BatchType.CUSTOM,
        created_at=T0,
        expires_at=T0,
        messages=list(messages),
    )


def event(content_type: str, data: dict[str, Any], **fields: Any) -> BatchableMessage:
    return BatchableMessage(id="ev-1", content_type=content_type, data=data, **fields)


def text_of(message: SlackMessage) -> str:
    return json.dumps([page.blocks for page in message.pages], ensure_ascii=False)


# ------------------------------------------------------------------ routing


@pytest.mark.parametrize(
    ("messages", "expected_type", "expected_formatter"),
    [
        ([pr("a")], "pr_update", "single"),
        ([pr("a"), pr("b")], "pr_batch", "digest"),
        ([jira("a"), jira("b")], "jira_batch", "digest"),
        ([alert("a"), alert("b")], "digest", "digest"),
        ([pr("a"), jira("b")], "digest", "digest"),
        ([alert("a")], "alert", "single"),
        ([event("generic", {"title": "hi"})], "custom", "single"),
    ],
)
def test_batches_are_routed_by_message_type(
    messages: list[BatchableMessage], expected_type: str, expected_formatter: str
) -> None:
    message = SlackMessageFormatterFactory().format(group(*messages))
    assert message.metadata["message_type"] == expected_type
    assert message.metadata["formatter"] == expected_formatter


def test_a_registered_formatter_replaces_the_builtin_for_its_type_only() -> None:
    def pager(context: BatchFormatterContext, options: FormatOptions) -> SlackMessage:
        return SlackMessage(blocks=[], text=f"{context.message_count} alerts, wake up")

    factory = SlackMessageFormatterFactory()
    factory.register("alert", pager)
    assert factory.format(alert("a1")).text == "1 alerts, wake up"
    assert factory.format(alert("a1")).metadata["formatter"] == "pager"
    assert factory.format(pr("p1")).metadata["formatter"] == "single"
    assert factory.formatter_for(MessageType.ALERT) == ("pager", pager)


def test_registering_an_unknown_message_type_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"message_type: unknown 'weekly'.*pr_batch"):
        SlackMessageFormatterFactory().register("weekly", lambda c, o: SlackMessage([], "x"))


def test_a_custom_item_formatter_renders_its_type_inside_mixed_digests() -> None:
    def ticket(message: BatchableMessage, options: FormatOptions) -> ItemView:
        return ItemView(title=f"TICKET {message.data['key']}", status="custom-status")

    factory = SlackMessageFormatterFactory()
    factory.register_item(ContentType.JIRA_UPDATE, ticket)
    rendered = text_of(factory.format(group(pr("p1"), jira("j1", key="API-9"))))
    assert "TICKET API-9" in rendered and "custom-status" in rendered
    assert "#42 Add auth" in rendered  # the PR keeps its own formatter


def test_format_accepts_an_event_a_batch_or_a_context() -> None:
    factory = SlackMessageFormatterFactory()
    batch = group(pr("a"), pr("b"))
    from_context = factory.format(BatchFormatterContext.from_batch(batch))
    assert factory.format(batch).to_dict() == from_context.to_dict()
    assert factory.format(pr("a"), channel_id="C9").channel == "C9"
    with pytest.raises(TypeError):
        factory.format("not a batch")  # type: ignore[arg-type]


# ------------------------------------------------------------------ options


def test_channels_get_their_own_options() -> None:
    factory = SlackMessageFormatterFactory(
        FormatOptions(fold_repeats=False),  # two "opened" events of one PR: keep both lines
        channel_options={"C-quiet": FormatOptions(compact=True, emoji=False, fold_repeats=False)},
    )
    batch = [pr("a", priority="critical"), pr("b", author="bob")]
    loud = text_of(factory.format(group(*batch, channel="C-loud")))
    quiet = text_of(factory.format(group(*batch, channel="C-quiet")))
    assert ":red_circle:" in loud and "[CRITICAL]" not in loud
    assert "[CRITICAL]" in quiet and ":red_circle:" not in quiet
    assert "· bob" in loud and "· bob" not in quiet  # compact items drop author and time
    factory.set_channel_options("C-quiet", None)
    assert factory.options_for("C-quiet") is factory.options


def test_a_compact_single_event_is_one_line() -> None:
    factory = SlackMessageFormatterFactory(FormatOptions(compact=True))
    message = factory.format(pr("a", action="merged"))
    assert [b["type"] for b in message.blocks] == ["section"]
    assert "\n" not in message.blocks[0]["text"]["text"]
    assert "*merged*" in message.blocks[0]["text"]["text"]


def test_base_urls_link_events_that_carry_no_url() -> None:
    options = FormatOptions(
        base_urls={"github": "https://github.example.com/", "jira": "https://acme.atlassian.net"}
    )
    factory = SlackMessageFormatterFactory(options)
    pr_event = event("pr_update", {"repository": "acme/api", "number": 7, "title": "T"})
    jira_event = event("jira_update", {"key": "API-3", "summary": "S"})
    relative = event("pr_update", {"url": "/acme/api/pull/8", "title": "T"})
    assert "<https://github.example.com/acme/api/pull/7|#7 T>" in text_of(factory.format(pr_event))
    assert "<https://acme.atlassian.net/browse/API-3|API-3 S>" in text_of(
        factory.format(jira_event)
    )
    assert "<https://github.example.com/acme/api/pull/8|T>" in text_of(factory.format(relative))
    assert "<" not in text_of(SlackMessageFormatterFactory().format(pr_event)).replace("<h", "")


def test_context_options_override_the_channel_options_for_one_batch() -> None:
    context = BatchFormatterContext.from_batch(group(pr("a", priority="high"), pr("b")))
    context.options = {"emoji": False}
    assert "[HIGH]" in text_of(SlackMessageFormatterFactory().format_batch(context))


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"base_urls": {"github": "javascript:alert(1)"}}, "base_urls['github']"),
        ({"user_ids": {"alice": "<!channel>"}}, "user_ids['alice']"),
        ({"emoji": "yes"}, "emoji: must be true or false"),
        ({"max_items_in_text": 0}, "max_items_in_text"),
    ],
)
def test_bad_format_options_are_rejected_naming_the_option(
    kwargs: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ConfigError, match=f".*{problem.replace('[', '.').replace(']', '.')}"):
        FormatOptions(**kwargs)


def test_unknown_option_in_replace_is_rejected() -> None:
    with pytest.raises(ConfigError, match="colour: unknown format option"):
        FormatOptions().replace(colour="red")


# ------------------------------------------------------------ data contract

CONTRACT = [
    (
        "pr_update",
        {"repository": "acme/api", "number": 42, "title": "Add auth", "action": "merged",
         "url": "https://github.com/acme/api/pull/42"},
        ["#42 Add auth", "merged", "acme/api", "https://github.com/acme/api/pull/42"],
    ),
    (
        "jira_update",
        {"key": "API-7", "summary": "Token refresh", "status": "Done",
         "previous_status": "In Review", "project": "API",
         "url": "https://acme.atlassian.net/browse/API-7"},
        ["API-7 Token refresh", "In Review → Done", "API", "browse/API-7"],
    ),
    (
        "alert",
        {"alertname": "HighLatency", "severity": "critical", "status": "firing",
         "description": "p99 over 2s", "service": "api", "url": "https://grafana.example/x"},
        ["HighLatency", "firing (critical)", "p99 over 2s", "api"],
    ),
    (
        "deployment",
        {"service": "api", "version": "1.4.2", "environment": "production",
         "status": "succeeded"},
        ["api 1.4.2 to production", "succeeded"],
    ),
    (
        "ci_build",
        {"pipeline": "tests", "branch": "main", "build": 812, "status": "failed",
         "repository": "acme/api", "commit": "0123456789abcdef"},
        ["#812 tests on main", "failed", "0123456789ab"],
    ),
    (
        "standup",
        {"yesterday": "auth", "today": ["tokens", "docs"], "blockers": "waiting on infra",
         "team": "platform"},
        ["tokens; docs", "blocked", "waiting on infra", "platform"],
    ),
    (
        "blocker",
        {"title": "Staging down", "key": "OPS-1", "blocked_by": "DNS", "owner": "bob"},
        ["OPS-1 Staging down", "blocked", "DNS", "bob"],
    ),
    ("generic", {"title": "Backup done", "status": "ok"}, ["Backup done", "ok"]),
]  # fmt: skip


@pytest.mark.parametrize(("content_type", "data", "expected"), CONTRACT)
def test_each_content_type_shows_the_documented_keys(
    content_type: str, data: dict[str, Any], expected: list[str]
) -> None:
    message = SlackMessageFormatterFactory().format(event(content_type, data, author="alice"))
    rendered = text_of(message)
    for fragment in expected:
        assert fragment in rendered
    assert validate_message(message) == []


@pytest.mark.parametrize("content_type", [c.value for c in ContentType])
def test_an_empty_payload_degrades_to_the_message_id(content_type: str) -> None:
    factory = SlackMessageFormatterFactory()
    single = factory.format(event(content_type, {}))
    digest = factory.format(group(event(content_type, {}), event(content_type, {"x": [1]})))
    assert "ev-1" in single.text and "ev-1" in text_of(digest)
    assert validate_message(single) == [] and validate_message(digest) == []


def test_oddly_typed_values_are_skipped_not_raised() -> None:
    data = {"title": {"nested": 1}, "number": True, "repository": ["acme", "api"], "url": 5}
    message = SlackMessageFormatterFactory().format(event("pr_update", data))
    assert message.text.startswith("PR update: ev-1")
    assert validate_message(message) == []


def test_items_are_ordered_by_priority_then_time_and_grouped_by_type() -> None:
    later = T0 + timedelta(minutes=5)
    batch = group(
        pr("p-low", priority="low"),
        jira("j-mid", timestamp=later),
        pr("p-mid", timestamp=later),
        alert("a-crit", priority="critical", timestamp=later),
        jira("j-high", priority="high"),
    )
    # p-low and p-mid are one PR: folding would merge them into one line.
    message = SlackMessageFormatterFactory(FormatOptions(fold_repeats=False)).format(batch)
    assert message.metadata["message_ids"] == ["a-crit", "j-high", "j-mid", "p-mid", "p-low"]
    titles = [b["text"]["text"].split("\n")[0] for b in message.blocks if b["type"] == "section"]
    assert titles == [
        "*:rotating_light: Alerts*",
        "*:ticket: JIRA*",
        "*:twisted_rightwards_arrows: Pull requests*",
    ]


def test_without_pagination_a_large_batch_is_one_message_when_it_fits() -> None:
    batch = group(*[pr(f"p{i}", number=i) for i in range(60)])
    paged = SlackMessageFormatterFactory().format(batch, items_per_page=5)
    unpaged = SlackMessageFormatterFactory().format(batch, enable_pagination=False)
    assert len(paged.pages) == 12
    assert len(unpaged.pages) == 1
    assert validate_message(unpaged) == []


def test_without_pagination_a_batch_too_big_for_one_post_still_pages_within_50_blocks() -> None:
    long_repo = "acme/" + "r" * 900  # ~1000-character links: two items per section
    batch = group(*[pr(f"p{i}", number=i, repo=long_repo, title="x" * 400) for i in range(200)])
    message = SlackMessageFormatterFactory().format(batch, enable_pagination=False)
    assert len(message.pages) > 1
    assert all(len(page.blocks) <= 50 for page in message.pages)
    assert validate_message(message) == []


def test_fallback_text_is_capped_and_lists_the_top_items() -> None:
    batch = group(*[pr(f"p{i}", number=i, title="t" * 3000) for i in range(30)])
    message = SlackMessageFormatterFactory(FormatOptions(max_items_in_text=20)).format(
        batch, items_per_page=30
    )
    assert len(message.text) <= 4000
    assert message.text.endswith("…and 10 more")


# ---------------------------------------------------------- validate_message


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def context_block(count: int) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": "x"}] * count}


def button(i: int) -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": "Go"}, "action_id": f"a{i}"}


BROKEN = [
    ([section("x")] * 51, "x", "blocks: 51 blocks; the limit is 50"),
    ([section("x" * 3001)], "x", "blocks[0].text.text: 3001 characters; the limit is 3000"),
    ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "x",
     "blocks[0].text.text: 151 characters; the limit is 150"),
    ([{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}], "x",
     "blocks[0].text.type: must be plain_text, got 'mrkdwn'"),
    ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}], "x",
     "blocks[0].fields: 11 items; the limit is 10"),
    ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}], "x",
     "blocks[0].fields[0].text: 2001 characters; the limit is 2000"),
    ([context_block(11)], "x", "blocks[0].elements: 11 items; the limit is 10"),
    ([{"type": "actions", "elements": [button(i) for i in range(26)]}], "x",
     "blocks[0].elements: 26 items; the limit is 25"),
    ([{"type": "actions", "elements": [{**button(0), "action_id": "a" * 256}]}], "x",
     "blocks[0].elements[0].action_id: 256 characters; the limit is 255"),
    ([{**section("x"), "block_id": "b" * 256}], "x",
     "blocks[0].block_id: 256 characters; the limit is 255"),
    ([{**section("x"), "block_id": "b"}, {**section("y"), "block_id": "b"}], "x",
     "blocks[1].block_id: 'b' is used twice"),
    ([section("x")], "t" * 4001, "text: 4001 characters; the limit is 4000"),
    ([section("x")], " ", "text: the fallback text must not be empty"),
    ([{"type": "section"}], "x", "blocks[0]: a section needs text or fields"),
    ([{"type": "carousel"}], "x", "blocks[0].type: unknown block type 'carousel'"),
]  # fmt: skip


@pytest.mark.parametrize(("blocks", "text", "problem"), BROKEN)
def test_validate_message_reports_each_broken_limit(
    blocks: list[dict[str, Any]], text: str, problem: str
) -> None:
    assert problem in validate_message(SlackMessage(blocks=blocks, text=text))


def test_validate_message_checks_continuation_pages_too() -> None:
    page = SlackMessage(blocks=[section("x" * 3001)], text="p2")
    message = SlackMessage(blocks=[section("x")], text="p1", continuations=[page])
    assert validate_message(message) == [
        "page 2: blocks[0].text.text: 3001 characters; the limit is 3000"
    ]


def test_a_valid_message_has_no_problems() -> None:
    assert validate_message(SlackMessage(blocks=[section("ok")], text="ok")) == []


def test_ampersands_in_link_urls_are_sent_escaped_and_the_link_survives() -> None:
    url = "https://ci.example.com/runs?id=1&tab=logs"
    message = SlackMessageFormatterFactory().format(event("ci_build", {"url": url}))
    assert (
        "<https://ci.example.com/runs?id=1&amp;tab=logs|ev-1>" in message.blocks[0]["text"]["text"]
    )


def test_fallback_text_keeps_its_and_n_more_line_when_items_are_long() -> None:
    # Title, status and author are cut to their limits, yet 20 such lines would pass 4000.
    long_event = {"title": "t" * 500, "status": "s" * 500}
    batch = group(
        *[
            BatchableMessage(id=f"g{i}", content_type="generic", author="a" * 500, data=long_event)
            for i in range(40)
        ]
    )
    factory = SlackMessageFormatterFactory(FormatOptions(max_items_in_text=20, fold_repeats=False))
    message = factory.format(batch, items_per_page=40)
    assert len(message.text) <= 4000
    listed = sum(1 for line in message.text.splitlines() if line.startswith("• "))
    assert 0 < listed < 20
    assert message.text.endswith(f"\n…and {40 - listed} more")
