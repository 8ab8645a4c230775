"""Small live digests: the parent lists every item, edited in place, no thread.

While a digest's items fit one post (docs/grouping.md, "Slack calls"), a later flush into
it is one edit of the parent, which then reads as a batch post of all of them. Past that
it converts once: the parent becomes the summary and what it listed goes to the thread.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime, timedelta

import pytest

from slack_batcher import (
    BatchConfig,
    BatchingService,
    ManualClock,
    MessageBatcher,
    SlackMessageFormatterFactory,
)
from slack_batcher.delivery.slack import SlackSender
from slack_batcher.model.message import BatchableMessage
from slack_batcher.runtime import ServiceConfig
from slack_batcher.testing import FakeSlack
from tests.factories import pr
from tests.test_runtime_digest_news import calls, service_for
from tests.test_runtime_digests import TOKEN, carried, header_count, item, top_level

T0 = datetime.fromisoformat("2026-03-02T09:00:00+00:00")
LEADING = BatchConfig(flush_leading=True, max_batch_age_minutes=1)
STEP = timedelta(minutes=4)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


def lifecycle() -> list[BatchableMessage]:
    actions = ["opened", "review_requested", "approved", "merged"]
    return [
        pr(f"pr-{n}", action=action, timestamp=T0 + n * STEP) for n, action in enumerate(actions)
    ]


def ids_in(blocks: object) -> Counter[str]:
    return Counter(re.findall(r"\b(?:pr|evt)-\d+\b", json.dumps(blocks)))


async def test_a_pr_lifecycle_is_one_post_edited_three_times_listing_all_four(
    clock: ManualClock, slack: FakeSlack
) -> None:
    batcher = MessageBatcher(
        LEADING, formatter_factory=SlackMessageFormatterFactory(), clock=clock, auto_ack=False
    )
    config = ServiceConfig(digest_reply_interval_seconds=60)
    service = BatchingService(batcher, SlackSender(TOKEN, base_url=slack.base_url), config=config)
    async with service:
        for message in lifecycle():
            await service.submit(message, "C1")  # a quiet key: posted (or edited) at once
            await service.advance(STEP)
        await service.advance(timedelta(minutes=40))

    [parent] = top_level(slack)
    assert not slack.replies("C1", parent.ts)
    assert len(parent.history) == 3  # one post, three edits
    assert calls(slack) == 4
    # As a batch post of the four: their true count, the PR's whole lifecycle.
    assert parent.text.startswith("4 updates in acme/api")
    assert "opened → review requested → approved → merged" in parent.text
    # Each version was current when it was made: the post, then 2, 3 and 4 events.
    assert parent.history[0].text.startswith("PR update: #42 Add auth — opened")
    counts = [int(version.text.split()[0]) for version in [*parent.history[1:], parent]]
    assert counts == [2, 3, 4]


async def test_a_digest_growing_past_the_small_limit_converts_once(
    clock: ManualClock, slack: FakeSlack
) -> None:
    service = service_for(clock, slack, ServiceConfig(), BatchConfig(max_batch_size=1))
    async with service:
        for number in range(15):
            await service.submit(item(number), "C1")
            await service.advance(30)
        await service.advance(timedelta(minutes=40))

    [parent] = top_level(slack)
    replies = slack.replies("C1", parent.ts)
    reposts = [r for r in replies if header_count(r) > 1]
    assert len(reposts) == 1  # the listing, re-posted once when it outgrew one post
    assert header_count(reposts[0]) == 11
    assert carried(slack, parent) == Counter(f"evt-{n:04d}" for n in range(15))
    assert header_count(parent) == 15  # the summary states the true count
    # Up to then every version of the parent listed every event it had taken.
    for n, version in enumerate(parent.history[:10]):
        assert ids_in(version.blocks) == Counter(f"evt-{k:04d}" for k in range(n + 1))


async def test_a_small_digest_whose_edit_is_refused_for_good_shows_every_item_once(
    clock: ManualClock, slack: FakeSlack
) -> None:
    service = service_for(clock, slack, ServiceConfig(), BatchConfig(max_batch_size=1))
    async with service:
        for number in range(3):
            await service.submit(item(number), "C1")
            await service.advance(30)
        slack.fail("cant_update_message", method="chat.update", times=1)
        for number in range(3, 6):
            await service.submit(item(number), "C1")
            await service.advance(30)
        await service.advance(timedelta(minutes=40))

    first, second = top_level(slack)
    assert ids_in(first.blocks) == Counter(f"evt-{n:04d}" for n in range(3))
    assert ids_in(second.blocks) == Counter(f"evt-{n:04d}" for n in range(3, 6))
    assert all(not post.is_reply for post in slack.posts_in("C1"))  # no item twice
    assert service.stats()["digests"]["restarted"] == 1
