"""FakeSlack answers the real slack_sdk clients the way Slack does."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from slack_batcher import ManualClock
from slack_batcher.testing import FakeSlack

TOKEN = "xoxb-fake-token"
TS = re.compile(r"^\d{10}\.\d{6}$")


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


@pytest.fixture
def slack(clock: ManualClock) -> Iterator[FakeSlack]:
    with FakeSlack(clock=clock) as fake:
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=slack.base_url)


async def error_of(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        await call
    return caught.value


# -- chat.postMessage ----------------------------------------------------------------------


async def test_a_json_post_is_answered_with_channel_ts_and_message_like_slack(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    response = await client.chat_postMessage(channel="C1", text="hello", blocks=[section("hi")])

    assert response["ok"] is True
    assert response["channel"] == "C1"
    assert TS.match(response["ts"])
    assert response["message"]["text"] == "hello"
    assert response["message"]["blocks"] == [section("hi")]
    [post] = slack.posts
    assert (post.channel, post.ts, post.text, post.via) == ("C1", response["ts"], "hello", "api")
    assert post.blocks == [section("hi")]


async def test_a_form_encoded_post_with_blocks_as_a_json_string_is_accepted(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    blocks = json.dumps([section("from a form")])
    response = await client.api_call(
        "chat.postMessage", data={"channel": "C1", "text": "form", "blocks": blocks}
    )

    assert response["ok"] is True
    assert slack.posts[0].blocks == [section("from a form")]
    assert slack.requests[0].content_type == "application/x-www-form-urlencoded"


async def test_form_blocks_that_are_not_json_are_refused_as_invalid_blocks_format(
    client: AsyncWebClient,
) -> None:
    call = client.api_call("chat.postMessage", data={"channel": "C1", "blocks": "[{oops"})
    error = await error_of(call)
    assert error.response["error"] == "invalid_blocks_format"


async def test_each_ts_is_unique_and_increasing_even_within_the_same_instant(
    clock: ManualClock,
) -> None:
    with FakeSlack(clock=clock, posts_per_second=None) as slack:
        client = AsyncWebClient(token=TOKEN, base_url=slack.base_url)
        stamps = [(await client.chat_postMessage(channel="C1", text="x"))["ts"] for _ in range(5)]
        clock.advance(1.5)
        stamps.append((await client.chat_postMessage(channel="C1", text="x"))["ts"])

    assert all(TS.match(ts) for ts in stamps)
    assert stamps == sorted(stamps, key=float)
    assert len(set(stamps)) == 6
    assert float(stamps[-1]) - float(stamps[0]) == pytest.approx(1.5, abs=1e-5)


async def test_a_post_without_text_or_blocks_is_refused_with_no_text(
    client: AsyncWebClient,
) -> None:
    error = await error_of(client.api_call("chat.postMessage", json={"channel": "C1"}))
    assert error.response["error"] == "no_text"


async def test_only_the_listed_channels_exist_when_channels_are_given(clock: ManualClock) -> None:
    with FakeSlack(clock=clock, channels=["C1"]) as slack:
        client = AsyncWebClient(token=TOKEN, base_url=slack.base_url)
        await client.chat_postMessage(channel="C1", text="here")
        error = await error_of(client.chat_postMessage(channel="C404", text="gone"))
    assert error.response["error"] == "channel_not_found"


def test_fakeslack_serves_the_synchronous_client_too(slack: FakeSlack) -> None:
    response = WebClient(token=TOKEN, base_url=slack.base_url).chat_postMessage(
        channel="C1", text="sync"
    )
    assert response["ok"] is True
    assert slack.wait_for_posts(1)[0].text == "sync"


async def test_auth_test_names_the_fake_bot(client: AsyncWebClient) -> None:
    response = await client.auth_test()
    assert response["ok"] is True
    assert response["user_id"].startswith("U")


# -- auth ----------------------------------------------------------------------------------


async def test_a_missing_token_is_not_authed_and_a_wrong_one_invalid_auth(
    slack: FakeSlack,
) -> None:
    no_token = AsyncWebClient(base_url=slack.base_url)
    wrong = AsyncWebClient(token="xoxb-wrong", base_url=slack.base_url)

    assert (await error_of(no_token.chat_postMessage(channel="C1", text="x"))).response[
        "error"
    ] == "not_authed"
    assert (await error_of(wrong.chat_postMessage(channel="C1", text="x"))).response[
        "error"
    ] == "invalid_auth"
    assert slack.posts == []
    assert [r.error for r in slack.requests] == ["not_authed", "invalid_auth"]


async def test_a_revoked_token_is_refused_until_a_new_token_is_installed(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    slack.revoke_token()
    error = await error_of(client.chat_postMessage(channel="C1", text="x"))
    assert error.response["error"] == "token_revoked"

    slack.token = "xoxb-rotated"
    fixed = AsyncWebClient(token="xoxb-rotated", base_url=slack.base_url)
    assert (await fixed.chat_postMessage(channel="C1", text="back"))["ok"] is True


async def test_token_none_accepts_any_token(clock: ManualClock) -> None:
    with FakeSlack(clock=clock, token=None) as slack:
        client = AsyncWebClient(token="xoxb-anything", base_url=slack.base_url)
        assert (await client.chat_postMessage(channel="C1", text="x"))["ok"] is True


# -- threads -------------------------------------------------------------------------------


async def test_replies_are_threaded_under_an_existing_ts_of_the_same_channel(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    parent = await client.chat_postMessage(channel="C1", text="page 1")
    reply = await client.chat_postMessage(channel="C1", text="page 2", thread_ts=parent["ts"])

    assert reply["message"]["thread_ts"] == parent["ts"]
    assert [p.text for p in slack.replies("C1", parent["ts"])] == ["page 2"]
    assert slack.posts_in("C1")[1].is_reply


async def test_a_reply_to_an_unknown_or_foreign_ts_is_thread_not_found(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    parent = await client.chat_postMessage(channel="C1", text="in C1")

    unknown = await error_of(client.chat_postMessage(channel="C1", text="x", thread_ts="1.000001"))
    foreign = await error_of(
        client.chat_postMessage(channel="C2", text="x", thread_ts=parent["ts"])
    )
    assert unknown.response["error"] == foreign.response["error"] == "thread_not_found"


async def test_a_reply_to_a_reply_joins_the_parents_thread(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    parent = await client.chat_postMessage(channel="C1", text="parent")
    reply = await client.chat_postMessage(channel="C1", text="r1", thread_ts=parent["ts"])
    nested = await client.chat_postMessage(channel="C1", text="r2", thread_ts=reply["ts"])

    assert nested["message"]["thread_ts"] == parent["ts"]
    assert [p.text for p in slack.replies("C1", parent["ts"])] == ["r1", "r2"]


# -- rate limits ---------------------------------------------------------------------------


async def test_past_the_burst_a_channel_gets_429_with_an_integer_retry_after(
    slack: FakeSlack, client: AsyncWebClient, clock: ManualClock
) -> None:
    for _ in range(3):  # the default burst
        await client.chat_postMessage(channel="C1", text="x")

    error = await error_of(client.chat_postMessage(channel="C1", text="x"))

    assert error.response.status_code == 429
    assert error.response["error"] == "ratelimited"
    assert error.response.headers["Retry-After"] == "1"
    await client.chat_postMessage(channel="C2", text="other channels are not limited")
    clock.advance(1)
    assert (await client.chat_postMessage(channel="C1", text="x"))["ok"] is True
    assert len(slack.posts_in("C1")) == 4


async def test_retry_after_grows_with_a_slower_configured_pace(clock: ManualClock) -> None:
    with FakeSlack(clock=clock, posts_per_second=0.2, burst=1) as slack:
        client = AsyncWebClient(token=TOKEN, base_url=slack.base_url)
        await client.chat_postMessage(channel="C1", text="x")
        error = await error_of(client.chat_postMessage(channel="C1", text="x"))
    assert error.response.headers["Retry-After"] == "5"


async def test_pacing_off_accepts_any_number_of_posts(clock: ManualClock) -> None:
    with FakeSlack(clock=clock, posts_per_second=None) as slack:
        client = AsyncWebClient(token=TOKEN, base_url=slack.base_url)
        for _ in range(20):
            await client.chat_postMessage(channel="C1", text="x")
        assert len(slack.posts) == 20


# -- Block Kit limits ----------------------------------------------------------------------


def fields(count: int, size: int = 5) -> dict[str, Any]:
    return {"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * size}] * count}


def context(count: int) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * count}


def actions(count: int) -> dict[str, Any]:
    button = {"type": "button", "text": {"type": "plain_text", "text": "b"}}
    return {"type": "actions", "elements": [button] * count}


def header(size: int) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": "h" * size}}


LIMITS = {
    "50 blocks": ([section("x")] * 50, [section("x")] * 51, "/blocks"),
    "section text 3000": ([section("s" * 3000)], [section("s" * 3001)], "/blocks/0/text/text"),
    "header 150": ([header(150)], [header(151)], "/blocks/0/text/text"),
    "10 fields": ([fields(10)], [fields(11)], "/blocks/0/fields"),
    "field text 2000": ([fields(1, 2000)], [fields(1, 2001)], "/blocks/0/fields/0/text"),
    "context 10": ([context(10)], [context(11)], "/blocks/0/elements"),
    "actions 25": ([actions(25)], [actions(26)], "/blocks/0/elements"),
    "block_id 255": (
        [{"type": "divider", "block_id": "b" * 255}],
        [{"type": "divider", "block_id": "b" * 256}],
        "/blocks/0/block_id",
    ),
}


@pytest.mark.parametrize("limit", sorted(LIMITS))
async def test_blocks_at_a_limit_pass_and_one_past_it_are_invalid_blocks_with_a_pointer(
    client: AsyncWebClient, limit: str
) -> None:
    at_limit, past_limit, pointer = LIMITS[limit]
    assert (await client.chat_postMessage(channel="C1", text="t", blocks=at_limit))["ok"]

    channel = "C2"  # a fresh channel: the first one used its burst
    error = await error_of(client.chat_postMessage(channel=channel, text="t", blocks=past_limit))

    assert error.response["error"] == "invalid_blocks"
    [message] = error.response["response_metadata"]["messages"]
    assert message.startswith("[ERROR] ")
    assert message.endswith(f"[json-pointer:{pointer}]")


async def test_an_unknown_block_type_is_invalid_blocks(client: AsyncWebClient) -> None:
    error = await error_of(
        client.chat_postMessage(channel="C1", text="t", blocks=[{"type": "nonsense"}])
    )
    assert error.response["error"] == "invalid_blocks"


async def test_text_over_40000_characters_is_msg_too_long(client: AsyncWebClient) -> None:
    error = await error_of(client.chat_postMessage(channel="C1", text="x" * 40_001))
    assert error.response["error"] == "msg_too_long"


async def test_text_over_4000_characters_is_posted_with_a_message_truncated_warning(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    response = await client.chat_postMessage(channel="C1", text="x" * 4001)
    assert response["response_metadata"]["warnings"] == ["message_truncated"]
    assert slack.posts[0].warnings == ("message_truncated",)


# -- injected failures ---------------------------------------------------------------------


async def test_an_error_code_injected_for_one_channel_leaves_the_others_alone(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    fault = slack.fail("channel_not_found", channel="C_GONE")

    error = await error_of(client.chat_postMessage(channel="C_GONE", text="x"))
    await client.chat_postMessage(channel="C_OK", text="x")

    assert error.response["error"] == "channel_not_found"
    assert [p.channel for p in slack.posts] == ["C_OK"]
    assert fault.hits == 1
    assert slack.requests[0].fault and slack.requests[0].error == "channel_not_found"


async def test_a_fault_for_the_next_n_calls_stops_after_n(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    slack.fail("internal_error", times=2)
    for _ in range(2):
        error = await error_of(client.chat_postMessage(channel="C1", text="x"))
        assert error.response["error"] == "internal_error"
    assert (await client.chat_postMessage(channel="C1", text="x"))["ok"]


async def test_an_injected_ratelimited_answers_429_with_the_given_retry_after(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    slack.fail("ratelimited", retry_after=7, times=1)
    error = await error_of(client.chat_postMessage(channel="C1", text="x"))
    assert error.response.status_code == 429
    assert error.response.headers["Retry-After"] == "7"


async def test_an_injected_5xx_answers_an_html_page_with_that_status(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    slack.fail(status=503, times=1)
    error = await error_of(client.chat_postMessage(channel="C1", text="x"))
    assert error.response.status_code == 503
    assert slack.posts == []


async def test_a_dropped_connection_reaches_the_client_as_a_disconnect(slack: FakeSlack) -> None:
    slack.fail(drop=True)
    client = AsyncWebClient(token=TOKEN, base_url=slack.base_url, retry_handlers=[])
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await client.chat_postMessage(channel="C1", text="x")
    assert slack.requests[0].error == "connection_dropped"


async def test_a_slow_answer_times_the_client_out(slack: FakeSlack) -> None:
    slack.fail(delay=3.0, times=1)
    client = AsyncWebClient(token=TOKEN, base_url=slack.base_url, timeout=0.2)  # type: ignore[arg-type]
    with pytest.raises(TimeoutError):
        await client.chat_postMessage(channel="C1", text="x")


async def test_a_slow_post_is_still_carried_out_after_the_client_gave_up(
    slack: FakeSlack,
) -> None:
    slack.fail(delay=0.3, times=1)
    client = AsyncWebClient(token=TOKEN, base_url=slack.base_url, timeout=0.05)  # type: ignore[arg-type]
    with pytest.raises(TimeoutError):
        await client.chat_postMessage(channel="C1", text="late")
    [post] = await slack.wait_for_posts_async(1)
    assert post.text == "late"


async def test_cleared_faults_no_longer_apply(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.fail("is_archived")
    slack.clear_faults()
    assert (await client.chat_postMessage(channel="C1", text="x"))["ok"]


async def test_reset_forgets_posts_requests_and_rate_limits(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    for _ in range(3):
        await client.chat_postMessage(channel="C1", text="x")
    slack.reset()
    assert slack.posts == [] and slack.requests == []
    assert (await client.chat_postMessage(channel="C1", text="x"))["ok"]


async def test_waiting_for_posts_that_never_come_raises_timeout_error(slack: FakeSlack) -> None:
    with pytest.raises(TimeoutError):
        await slack.wait_for_posts_async(1, timeout=0.05)
    with pytest.raises(TimeoutError):
        slack.wait_for_posts(1, channel="C1", timeout=0.05)


# -- incoming webhooks ---------------------------------------------------------------------


async def test_a_webhook_post_answers_ok_and_lands_in_its_channel(slack: FakeSlack) -> None:
    url = slack.webhook_url(channel="C_HOOK")
    response = await AsyncWebhookClient(url).send(text="hooked", blocks=[section("b")])

    assert (response.status_code, response.body) == (200, "ok")
    [post] = slack.posts
    assert (post.channel, post.text, post.via) == ("C_HOOK", "hooked", "webhook")


async def test_a_webhook_path_that_does_not_exist_is_404_no_service(slack: FakeSlack) -> None:
    response = await AsyncWebhookClient(slack.url + "services/T0/B0/nope").send(text="x")
    assert (response.status_code, response.body) == (404, "no_service")


async def test_a_webhook_body_that_is_not_json_is_400_invalid_payload(slack: FakeSlack) -> None:
    url = slack.webhook_url()
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=b"{nope", headers={"Content-Type": "application/json"}) as resp,
    ):
        assert (resp.status, await resp.text()) == (400, "invalid_payload")


@pytest.mark.parametrize(
    ("error", "status"),
    [("action_prohibited", 403), ("channel_is_archived", 410), ("channel_not_found", 404)],
)
async def test_injected_webhook_errors_answer_slacks_status_and_word(
    slack: FakeSlack, error: str, status: int
) -> None:
    url = slack.webhook_url()
    slack.fail(error, method="webhook")
    response = await AsyncWebhookClient(url).send(text="x")
    assert (response.status_code, response.body) == (status, error)


async def test_webhooks_are_rate_limited_with_429_and_retry_after(slack: FakeSlack) -> None:
    client = AsyncWebhookClient(slack.webhook_url(), retry_handlers=[])
    for _ in range(3):
        await client.send(text="x")
    response = await client.send(text="x")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
