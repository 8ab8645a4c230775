"""The senders post through the real slack_sdk clients and classify every failure."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import pytest

from slack_batcher import (
    ManualClock,
    PermanentDeliveryError,
    SlackMessage,
    TransientDeliveryError,
)
from slack_batcher.delivery import SlackSender
from slack_batcher.delivery.classify import is_auth_error, may_have_posted
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
    sender = SlackSender(TOKEN, base_url=slack.base_url, timeout=0.5, connection_retries=0)
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
    slack: FakeSlack, sender: SlackSender
) -> None:
    slack.fail(delay=5.0, times=1)
    with pytest.raises(TransientDeliveryError) as caught:
        await sender.post(page(), channel="C1")
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
