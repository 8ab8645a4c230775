"""The senders post through the real slack_sdk clients and classify every failure."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from slack_batcher import (
    ManualClock,
    PermanentDeliveryError,
    SlackMessage,
    TransientDeliveryError,
)
from slack_batcher.delivery import (
    ConsoleSender,
    JsonlSender,
    Sender,
    SlackSender,
    WebhookSender,
)
from slack_batcher.delivery.classify import is_auth_error, may_have_posted
from slack_batcher.delivery.jsonl import FakeTimestamps
from slack_batcher.testing import FakeSlack

TOKEN = "xoxb-fake-token"


def page(text: str = "3 updates in acme/api", **extra: object) -> SlackMessage:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "acme/api"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
    ]
    return SlackMessage(blocks=blocks, text=text, **extra)  # type: ignore[arg-type]


@pytest.fixture
def slack(clock: ManualClock) -> Iterator[FakeSlack]:
    with FakeSlack(clock=clock) as fake:
        yield fake


@pytest.fixture
async def sender(slack: FakeSlack) -> AsyncIterator[SlackSender]:
    # A generous timeout: on a loaded machine a healthy answer can take longer than half a second.
    sender = SlackSender(TOKEN, base_url=slack.base_url, timeout=5.0, connection_retries=0)
    yield sender
    await sender.close()


# -- SlackSender: success ------------------------------------------------------------------


async def test_slack_sender_posts_text_and_blocks_and_returns_slacks_ts(
    slack: FakeSlack, sender: SlackSender
) -> None:
    result = await sender.post(page(), channel="C1")

    [post] = slack.posts
    assert (result.ts, result.channel, result.warnings) == (post.ts, "C1", [])
    assert post.text == "3 updates in acme/api"
    assert post.blocks == page().blocks
    assert sender.supports_threads


async def test_slack_sender_posts_a_continuation_as_a_reply_in_the_thread(
    slack: FakeSlack, sender: SlackSender
) -> None:
    first = await sender.post(page("page 1"), channel="C1")
    second = await sender.post(page("page 2"), channel="C1", thread_ts=first.ts)

    assert second.ts != first.ts
    assert [p.text for p in slack.replies("C1", str(first.ts))] == ["page 2"]


async def test_slack_sender_returns_and_logs_slacks_warnings(
    sender: SlackSender, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="slack_batcher.delivery"):
        long_text = SlackMessage(blocks=page().blocks, text="x" * 4001)
        result = await sender.post(long_text, channel="C1")
    assert result.warnings == ["message_truncated"]
    assert "message_truncated" in caplog.text


# -- SlackSender: failures -----------------------------------------------------------------

PERMANENT = [
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "invalid_auth",
    "not_authed",
    "token_revoked",
    "account_inactive",
    "missing_scope",
    "no_text",
]
AUTH = {"invalid_auth", "not_authed", "token_revoked", "account_inactive", "missing_scope"}


@pytest.mark.parametrize("code", PERMANENT)
async def test_slack_sender_raises_permanent_errors_with_slacks_code(
    slack: FakeSlack, sender: SlackSender, code: str
) -> None:
    slack.fail(code, times=1)
    with pytest.raises(PermanentDeliveryError) as caught:
        await sender.post(page(), channel="C1")
    assert caught.value.code == code
    assert is_auth_error(code) == (code in AUTH)


@pytest.mark.parametrize("code", ["ratelimited", "service_unavailable", "request_timeout"])
async def test_slack_sender_raises_transient_errors_for_retryable_codes(
    slack: FakeSlack, sender: SlackSender, code: str
) -> None:
    slack.fail(code, times=1)
    with pytest.raises(TransientDeliveryError) as caught:
        await sender.post(page(), channel="C1")
    assert caught.value.code == code
    assert not may_have_posted(code)


@pytest.mark.parametrize("code", ["internal_error", "fatal_error"])
async def test_internal_and_fatal_errors_are_retried_and_flagged_as_maybe_posted(
    slack: FakeSlack, sender: SlackSender, code: str
) -> None:
    slack.fail(code, times=1)
    with pytest.raises(TransientDeliveryError) as caught:
        await sender.post(page(), channel="C1")
    assert caught.value.code == code
    assert may_have_posted(code)


async def test_slack_sender_reads_retry_after_from_an_injected_429(
    slack: FakeSlack, sender: SlackSender
) -> None:
    slack.fail("ratelimited", retry_after=30, times=1)
    with pytest.raises(TransientDeliveryError) as caught:
        await sender.post(page(), channel="C1")
    assert (caught.value.code, caught.value.retry_after) == ("ratelimited", 30.0)
    assert len(slack.requests) == 1  # slack_sdk did not sleep and retry by itself


async def test_slack_sender_reads_retry_after_when_a_channel_outpaces_slack(
    slack: FakeSlack, sender: SlackSender, clock: ManualClock
) -> None:
    for _ in range(3):
        await sender.post(page(), channel="C1")
    with pytest.raises(TransientDeliveryError) as caught:
        await sender.post(page(), channel="C1")
    assert caught.value.retry_after == 1.0
    clock.advance(caught.value.retry_after)
    assert (await sender.post(page(), channel="C1")).ts


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_slack_sender_raises_transient_errors_for_5xx(
    slack: FakeSlack, sender: SlackSender, status: int
) -> None:
    slack.fail(status=status, times=1)
    with pytest.raises(TransientDeliveryError) as caught:
        await sender.post(page(), channel="C1")
    assert caught.value.code == f"http_{status}"


async def test_slack_sender_raises_a_transient_timeout_when_slack_is_slow(
    slack: FakeSlack,
) -> None:
    slack.fail(delay=5.0, times=1)
    sender = SlackSender(TOKEN, base_url=slack.base_url, timeout=0.5, connection_retries=0)
    try:
        with pytest.raises(TransientDeliveryError) as caught:
            await sender.post(page(), channel="C1")
    finally:
        await sender.close()
    assert caught.value.code == "timeout"
    assert may_have_posted("timeout")


async def test_slack_sender_raises_a_transient_connection_error_when_dropped(
    slack: FakeSlack, sender: SlackSender
) -> None:
    slack.fail(drop=True, times=1)
    with pytest.raises(TransientDeliveryError) as caught:
        await sender.post(page(), channel="C1")
    assert caught.value.code == "connection_error"


async def test_slack_sdk_retries_a_dropped_connection_once_by_itself(slack: FakeSlack) -> None:
    sender = SlackSender(TOKEN, base_url=slack.base_url, connection_retry_interval=0.01)
    try:
        slack.fail(drop=True, times=1)
        result = await sender.post(page(), channel="C1")
    finally:
        await sender.close()
    assert [p.ts for p in slack.posts] == [result.ts]
    assert len(slack.requests) == 2


async def test_invalid_blocks_are_permanent_and_carry_slacks_messages(
    sender: SlackSender,
) -> None:
    too_long = SlackMessage(
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}], text="x"
    )
    with pytest.raises(PermanentDeliveryError) as caught:
        await sender.post(too_long, channel="C1")
    assert caught.value.code == "invalid_blocks"
    assert "json-pointer:/blocks/0/text/text" in caught.value.detail


async def test_msg_too_long_is_permanent(sender: SlackSender) -> None:
    with pytest.raises(PermanentDeliveryError) as caught:
        await sender.post(SlackMessage(blocks=[], text="x" * 40_001), channel="C1")
    assert caught.value.code == "msg_too_long"


async def test_a_revoked_token_fails_as_auth_until_slack_accepts_the_token_again(
    slack: FakeSlack, sender: SlackSender
) -> None:
    slack.revoke_token()
    with pytest.raises(PermanentDeliveryError) as caught:
        await sender.post(page(), channel="C1")
    assert caught.value.code == "token_revoked" and is_auth_error(caught.value.code)

    slack.token = TOKEN  # reinstated
    assert (await sender.post(page(), channel="C1")).ts


async def test_slack_sender_never_logs_its_token(
    slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "xoxb-very-secret-token"
    slack.token = secret
    sender = SlackSender(secret, base_url=slack.base_url)
    with caplog.at_level(logging.DEBUG):
        await sender.post(page(), channel="C1")
        slack.fail("channel_not_found", times=1)
        with pytest.raises(PermanentDeliveryError):
            await sender.post(page(), channel="C1")
        await sender.close()
    assert caplog.records
    assert secret not in caplog.text
    assert secret not in repr(sender)


async def test_a_closed_slack_sender_refuses_to_post(slack: FakeSlack) -> None:
    sender = SlackSender(TOKEN, base_url=slack.base_url)
    await sender.post(page(), channel="C1")
    await sender.close()
    with pytest.raises(RuntimeError, match="closed"):
        await sender.post(page(), channel="C1")


def test_slack_sender_needs_a_token() -> None:
    with pytest.raises(ValueError, match="token"):
        SlackSender("")


# -- WebhookSender -------------------------------------------------------------------------


@pytest.fixture
async def webhook(slack: FakeSlack) -> AsyncIterator[WebhookSender]:
    # A generous timeout: on a loaded machine a healthy answer can take longer than half a second.
    sender = WebhookSender(slack.webhook_url(channel="C_HOOK"), timeout=5.0, connection_retries=0)
    yield sender
    await sender.close()


async def test_webhook_sender_posts_and_returns_no_ts(
    slack: FakeSlack, webhook: WebhookSender
) -> None:
    result = await webhook.post(page(), channel="C_HOOK")

    assert (result.ts, result.channel) == (None, "C_HOOK")
    assert not webhook.supports_threads
    [post] = slack.posts
    assert (post.channel, post.text, post.blocks, post.via) == (
        "C_HOOK",
        page().text,
        page().blocks,
        "webhook",
    )


@pytest.mark.parametrize(
    ("error", "auth"),
    [
        ("invalid_payload", False),
        ("action_prohibited", False),
        ("channel_is_archived", False),
        ("channel_not_found", False),
        ("no_service", True),
        ("invalid_token", True),
    ],
)
async def test_webhook_sender_raises_permanent_errors_for_refusals(
    slack: FakeSlack, webhook: WebhookSender, error: str, auth: bool
) -> None:
    slack.fail(error, times=1)
    with pytest.raises(PermanentDeliveryError) as caught:
        await webhook.post(page(), channel="C_HOOK")
    assert caught.value.code == error
    assert is_auth_error(error) == auth


async def test_a_removed_webhook_is_an_auth_error(slack: FakeSlack) -> None:
    sender = WebhookSender(slack.url + "services/T0/B0/removed")
    try:
        with pytest.raises(PermanentDeliveryError) as caught:
            await sender.post(page(), channel="C_HOOK")
    finally:
        await sender.close()
    assert caught.value.code == "no_service" and is_auth_error("no_service")


async def test_webhook_sender_reads_retry_after_when_rate_limited(
    slack: FakeSlack, webhook: WebhookSender
) -> None:
    slack.fail("ratelimited", retry_after=12, times=1)
    with pytest.raises(TransientDeliveryError) as caught:
        await webhook.post(page(), channel="C_HOOK")
    assert (caught.value.code, caught.value.retry_after) == ("ratelimited", 12.0)


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ({"status": 502}, "http_502"),
        ({"delay": 10.0}, "timeout"),
        ({"drop": True}, "connection_error"),
    ],
)
async def test_webhook_sender_raises_transient_errors_for_outages(
    slack: FakeSlack, webhook: WebhookSender, fault: dict[str, object], code: str
) -> None:
    slack.fail(times=1, **fault)  # type: ignore[arg-type]
    sender = webhook
    if "delay" in fault:  # only the timeout case needs a short timeout
        sender = WebhookSender(
            slack.webhook_url(channel="C_HOOK"), timeout=0.5, connection_retries=0
        )
    try:
        with pytest.raises(TransientDeliveryError) as caught:
            await sender.post(page(), channel="C_HOOK")
    finally:
        if sender is not webhook:
            await sender.close()
    assert caught.value.code == code


async def test_webhook_sender_never_logs_its_url(
    slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    url = slack.webhook_url()
    sender = WebhookSender(url)
    with caplog.at_level(logging.DEBUG):
        await sender.post(page(), channel="C_HOOK")
        slack.fail("action_prohibited", times=1)
        with pytest.raises(PermanentDeliveryError):
            await sender.post(page(), channel="C_HOOK")
        await sender.close()
    secret = url.rsplit("/", 1)[1]
    assert caplog.records
    assert secret not in caplog.text
    assert secret not in repr(sender)


def test_webhook_sender_needs_a_url() -> None:
    with pytest.raises(ValueError, match="url"):
        WebhookSender("not a url")


# -- dry-run sinks -------------------------------------------------------------------------


async def test_jsonl_sender_writes_one_payload_per_line_with_channel_and_ts(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "out" / "posts.jsonl"
    sender = JsonlSender(path, clock=clock)
    first = await sender.post(page("page 1"), channel="C1")
    second = await sender.post(page("page 2"), channel="C1", thread_ts=first.ts)
    await sender.close()

    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [line["text"] for line in lines] == ["page 1", "page 2"]
    assert lines[0]["channel"] == "C1" and lines[0]["blocks"] == page("page 1").blocks
    assert lines[0]["ts"] == first.ts and "thread_ts" not in lines[0]
    assert lines[1]["thread_ts"] == first.ts
    assert float(str(second.ts)) > float(str(first.ts))
    assert lines[0]["posted_at"] == "2026-03-02T09:00:00+00:00"
    assert sender.supports_threads


async def test_jsonl_sender_keeps_a_broadcast_reply_as_slack_would_get_it(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "posts.jsonl"
    sender = JsonlSender(path, clock=clock)
    parent = await sender.post(page("parent"), channel="C1")
    loud = replace(page("critical"), metadata={"reply_broadcast": True})
    await sender.post(loud, channel="C1", thread_ts=parent.ts)
    await sender.post(page("quiet"), channel="C1", thread_ts=parent.ts)
    await sender.close()
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [line.get("reply_broadcast") for line in lines] == [None, True, None]


async def test_jsonl_sender_appends_to_an_existing_file_and_leaves_streams_open(
    tmp_path: Path,
) -> None:
    path = tmp_path / "posts.jsonl"
    for _ in range(2):
        sender = JsonlSender(str(path))
        await sender.post(page(), channel="C1")
        await sender.close()
    assert len(path.read_text(encoding="utf-8").splitlines()) == 2

    stream = io.StringIO()
    sender = JsonlSender(stream)
    await sender.post(page("ünïcode stays readable"), channel="C1")
    await sender.close()
    assert not stream.closed
    assert "ünïcode" in stream.getvalue()


async def test_console_sender_prints_a_readable_post(clock: ManualClock) -> None:
    stream = io.StringIO()
    sender = ConsoleSender(stream, clock=clock)
    message = SlackMessage(
        blocks=[
            {"type": "header", "text": {"type": "plain_text", "text": "acme/api: 2 updates"}},
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "• <https://github.com/acme/api/pull/42|Add auth &amp; tests> — alice",
                },
            },
            {"type": "divider"},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "via GitHub"}]},
        ],
        text="acme/api: 2 updates",
    )
    result = await sender.post(message, channel="C1")

    out = stream.getvalue()
    assert f"#C1 · {result.ts}" in out
    assert "ACME/API: 2 UPDATES" in out
    assert "• Add auth & tests (https://github.com/acme/api/pull/42) — alice" in out
    assert "via GitHub" in out
    assert "&amp;" not in out and "<https" not in out


async def test_console_sender_indents_thread_replies(clock: ManualClock) -> None:
    stream = io.StringIO()
    sender = ConsoleSender(stream, clock=clock)
    first = await sender.post(page("page 1"), channel="C1")
    stream.seek(0)
    stream.truncate()
    await sender.post(page("page 2"), channel="C1", thread_ts=first.ts)

    out = stream.getvalue()
    assert f"reply in thread {first.ts}" in out
    assert all(line.startswith("    ") for line in out.splitlines())


async def test_console_sender_falls_back_to_the_text_for_unknown_blocks(
    clock: ManualClock,
) -> None:
    stream = io.StringIO()
    message = SlackMessage(blocks=[{"type": "rich_text", "elements": []}], text="plain &lt;b&gt;")
    await ConsoleSender(stream, clock=clock).post(message, channel="C1")
    assert "plain <b>" in stream.getvalue()


async def test_every_sender_satisfies_the_sender_protocol(slack: FakeSlack, tmp_path: Path) -> None:
    senders = [
        SlackSender(TOKEN, base_url=slack.base_url),
        WebhookSender(slack.webhook_url()),
        ConsoleSender(io.StringIO()),
        JsonlSender(tmp_path / "x.jsonl"),
    ]
    for sender in senders:
        assert isinstance(sender, Sender)
        await sender.close()


def test_invented_timestamps_look_like_slacks_and_increase(clock: ManualClock) -> None:
    stamps = FakeTimestamps(clock)
    first, second = stamps.next(), stamps.next()
    assert re.match(r"^\d{10}\.\d{6}$", first)
    assert float(second) > float(first)
