"""FakeSlack edits and deletes messages the way Slack's chat.update and chat.delete do."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from slack_batcher import ManualClock
from slack_batcher.delivery import SlackSender
from slack_batcher.formatting.message import SlackMessage
from slack_batcher.model.errors import PermanentDeliveryError, TransientDeliveryError
from slack_batcher.testing import FakeSlack

TOKEN = "xoxb-fake-token"


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


@pytest.fixture
def slack(clock: ManualClock) -> Iterator[FakeSlack]:
    with FakeSlack(clock=clock, posts_per_second=None) as fake:
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=slack.base_url)


async def error_of(call: Any) -> str:
    with pytest.raises(SlackApiError) as caught:
        await call
    return str(caught.value.response["error"])


async def test_an_update_replaces_text_and_blocks_and_keeps_the_ts_and_the_history(
    slack: FakeSlack, client: AsyncWebClient, clock: ManualClock
) -> None:
    posted = await client.chat_postMessage(channel="C1", text="v1", blocks=[section("one")])
    clock.advance(timedelta(minutes=3))

    answer = await client.chat_update(
        channel="C1", ts=posted["ts"], text="v2", blocks=[section("two")]
    )

    assert answer["ok"] is True
    assert (answer["channel"], answer["ts"], answer["text"]) == ("C1", posted["ts"], "v2")
    assert answer["message"]["blocks"] == [section("two")]
    [post] = slack.posts
    assert (post.ts, post.text, post.blocks) == (posted["ts"], "v2", [section("two")])
    assert post.edited_at == clock.now()
    assert [(v.text, v.blocks) for v in post.versions] == [
        ("v1", [section("one")]),
        ("v2", [section("two")]),
    ]


async def test_an_update_without_blocks_keeps_them_and_an_empty_list_removes_them(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel="C1", text="v1", blocks=[section("one")])

    await client.chat_update(channel="C1", ts=posted["ts"], text="v2")
    assert slack.posts[0].blocks == [section("one")]
    await client.chat_update(channel="C1", ts=posted["ts"], text="v3", blocks=[])
    assert slack.posts[0].blocks == []
    assert len(slack.posts[0].history) == 2


async def test_an_edited_reply_stays_in_its_thread(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    parent = await client.chat_postMessage(channel="C1", text="parent")
    reply = await client.chat_postMessage(channel="C1", text="r1", thread_ts=parent["ts"])

    await client.chat_update(channel="C1", ts=reply["ts"], text="r1 edited")

    [edited] = slack.replies("C1", parent["ts"])
    assert (edited.text, edited.thread_ts) == ("r1 edited", parent["ts"])


async def test_updating_an_unknown_ts_or_one_from_another_channel_is_message_not_found(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel="C1", text="hi")

    assert await error_of(client.chat_update(channel="C1", ts="1.000001", text="x")) == (
        "message_not_found"
    )
    assert await error_of(client.chat_update(channel="C2", ts=posted["ts"], text="x")) == (
        "message_not_found"
    )
    assert slack.posts[0].text == "hi"


async def test_a_webhook_message_cannot_be_updated_or_deleted_through_the_api(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    webhook = AsyncWebhookClient(slack.webhook_url("C1"))
    await webhook.send(text="from a webhook")
    [post] = slack.posts

    assert await error_of(client.chat_update(channel="C1", ts=post.ts, text="x")) == (
        "cant_update_message"
    )
    assert await error_of(client.chat_delete(channel="C1", ts=post.ts)) == "cant_delete_message"


async def test_an_update_is_checked_like_a_post(slack: FakeSlack, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C1", text="hi")

    too_long = client.chat_update(channel="C1", ts=posted["ts"], text="x" * 40_001)
    assert await error_of(too_long) == "msg_too_long"
    bad = client.chat_update(channel="C1", ts=posted["ts"], text="x", blocks=[{"type": "nope"}])
    assert await error_of(bad) == "invalid_blocks"
    assert slack.posts[0].history == ()


async def test_a_deleted_message_leaves_posts_and_cannot_be_updated(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel="C1", text="bye")

    answer = await client.chat_delete(channel="C1", ts=posted["ts"])

    assert (answer["ok"], answer["ts"]) == (True, posted["ts"])
    assert slack.posts == []
    assert [p.text for p in slack.deleted] == ["bye"]
    assert await error_of(client.chat_update(channel="C1", ts=posted["ts"], text="x")) == (
        "message_not_found"
    )
    assert await error_of(client.chat_delete(channel="C1", ts=posted["ts"])) == (
        "message_not_found"
    )


async def test_a_parent_deleted_by_a_person_keeps_its_thread_open_when_it_has_replies(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    lonely = await client.chat_postMessage(channel="C1", text="no replies")
    parent = await client.chat_postMessage(channel="C1", text="parent")
    await client.chat_postMessage(channel="C1", text="r1", thread_ts=parent["ts"])

    assert slack.delete_message("C1", parent["ts"]) is True
    assert slack.delete_message("C1", lonely["ts"]) is True

    await client.chat_postMessage(channel="C1", text="r2", thread_ts=parent["ts"])
    orphan = client.chat_postMessage(channel="C1", text="r", thread_ts=lonely["ts"])
    assert await error_of(orphan) == "thread_not_found"
    assert [p.text for p in slack.replies("C1", parent["ts"])] == ["r1", "r2"]


async def test_faults_can_be_injected_into_updates_without_touching_posts(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel="C1", text="hi")
    fault = slack.fail("cant_update_message", method="chat.update", times=1)

    assert await error_of(client.chat_update(channel="C1", ts=posted["ts"], text="x")) == (
        "cant_update_message"
    )
    await client.chat_postMessage(channel="C1", text="still posting")
    await client.chat_update(channel="C1", ts=posted["ts"], text="x")
    assert fault.hits == 1
    assert [p.text for p in slack.posts] == ["x", "still posting"]


async def test_a_reply_broadcast_is_a_reply_that_the_channel_sees(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    parent = await client.chat_postMessage(channel="C1", text="parent")
    await client.chat_postMessage(
        channel="C1", text="critical", thread_ts=parent["ts"], reply_broadcast=True
    )
    await client.chat_postMessage(channel="C1", text="quiet", thread_ts=parent["ts"])

    assert [p.is_broadcast for p in slack.replies("C1", parent["ts"])] == [True, False]


# -- SlackSender.update ----------------------------------------------------------------------


async def test_slack_sender_edits_a_message_it_posted(slack: FakeSlack) -> None:
    sender = SlackSender(TOKEN, base_url=slack.base_url)
    try:
        posted = await sender.post(SlackMessage(blocks=[section("one")], text="v1"), channel="C1")
        assert posted.ts is not None
        result = await sender.update(
            SlackMessage(blocks=[section("two")], text="v2"), channel="C1", ts=posted.ts
        )
    finally:
        await sender.close()

    assert result.ts == posted.ts
    [post] = slack.posts
    assert (post.text, post.blocks, len(post.history)) == ("v2", [section("two")], 1)


async def test_slack_sender_reports_a_vanished_message_as_a_permanent_error(
    slack: FakeSlack,
) -> None:
    sender = SlackSender(TOKEN, base_url=slack.base_url)
    try:
        with pytest.raises(PermanentDeliveryError) as caught:
            await sender.update(SlackMessage(blocks=[], text="v2"), channel="C1", ts="1.000001")
        slack.fail("ratelimited", method="chat.update", retry_after=7, times=1)
        with pytest.raises(TransientDeliveryError) as limited:
            await sender.update(SlackMessage(blocks=[], text="v2"), channel="C1", ts="1.000001")
    finally:
        await sender.close()

    assert caught.value.code == "message_not_found"
    assert (limited.value.code, limited.value.retry_after) == ("ratelimited", 7.0)
