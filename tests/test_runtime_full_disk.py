"""Delivery on a store that refuses writes (a full disk): the record of a Slack call first.

A post whose acknowledgement cannot be written, or a digest conversion whose digest map
cannot be, is never posted again by this process; no new post starts until the record is
written, and each such post counts as a possible duplicate (a restart meanwhile would send
it again). The store refuses through a small MemoryStore subclass, so the moment of the
refusal is exact; tests/test_service_full_disk.py runs the service on a real full volume.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest

from slack_batcher import (
    BatchableMessage,
    BatchConfig,
    BatchingService,
    ContentType,
    ManualClock,
    MemoryStore,
    MessageBatcher,
)
from slack_batcher.delivery.slack import SlackSender
from slack_batcher.model.errors import StoreFullError
from slack_batcher.testing import FakeSlack

TOKEN = "xoxb-fake-token"
TAG = re.compile(r"evt-\d{4}")


class RefusingStore(MemoryStore):
    """A memory store whose named writes fail as on a full disk while listed in ``refuse``."""

    def __init__(self) -> None:
        super().__init__()
        self.refuse: set[str] = set()
        self.refused = Counter[str]()

    def _check(self, name: str) -> None:
        if name in self.refuse:
            self.refused[name] += 1
            raise StoreFullError(f"{name} failed: the disk is full")

    def ack(self, outbox_id: str) -> bool:
        self._check("ack")
        return super().ack(outbox_id)

    def put_digest(self, record: Any) -> None:
        self._check("put_digest")
        super().put_digest(record)


def alert(number: int) -> BatchableMessage:
    return BatchableMessage(
        id=f"evt-{number:04d}",
        content_type=ContentType.ALERT,
        priority="high",
        data={"alertname": f"Alert evt-{number:04d}", "service": "api", "status": "firing"},
    )


def item_counts(slack: FakeSlack) -> Counter[str]:
    """How often each alert was posted (an edited digest parent with a thread is a summary,
    its items are in the thread; with no thread it lists every item of its small digest)."""
    threads = {post.thread_ts for post in slack.posts if post.is_reply}
    return Counter(
        tag
        for post in slack.posts
        if not post.history or post.ts not in threads
        for tag in set(TAG.findall(json.dumps(post.blocks)))
    )


@pytest.fixture
async def slack(clock: ManualClock) -> AsyncIterator[FakeSlack]:
    async with FakeSlack(token=TOKEN, clock=clock, posts_per_second=None) as server:
        yield server


def service_on(
    clock: ManualClock, slack: FakeSlack, store: RefusingStore, **config: Any
) -> tuple[MessageBatcher, BatchingService]:
    batcher = MessageBatcher(BatchConfig(**config), clock=clock, store=store, auto_ack=False)
    return batcher, BatchingService(batcher, SlackSender(TOKEN, base_url=slack.base_url))


async def test_no_post_starts_while_an_ack_cannot_be_written_and_it_counts(
    clock: ManualClock, slack: FakeSlack
) -> None:
    store = RefusingStore()
    batcher, service = service_on(clock, slack, store, live_digests=False)
    async with service:
        store.refuse.add("ack")
        for number in range(5):
            await service.submit(alert(number), "C1")
        await service.settle()  # posted; its ack refused
        for number in range(5, 10):
            await service.submit(alert(number), "C2")
        await service.advance(30)

        assert len(slack.posts) == 1  # C2's post waits for C1's ack
        assert store.refused["ack"] > 1  # retried meanwhile
        assert service.stats()["possible_duplicates"] == 1
        assert batcher.outbox.size() == 2

        store.refuse.clear()  # space is freed
        await service.advance(2)
        assert len(slack.posts) == 2
        assert batcher.outbox.size() == 0

    assert item_counts(slack) == Counter(f"evt-{n:04d}" for n in range(10))


async def test_a_digest_conversion_whose_map_cannot_be_written_is_not_posted_again(
    clock: ManualClock, slack: FakeSlack
) -> None:
    store = RefusingStore()
    _, service = service_on(clock, slack, store)
    async with service:
        for number in range(5):  # the first post becomes the live digest
            await service.submit(alert(number), "C1")
        await service.settle()
        for number in range(5, 10):  # a small digest: its parent lists all 10
            await service.submit(alert(number), "C1")
        await service.settle()
        store.refuse.add("put_digest")
        for number in range(10, 15):  # converts it: re-posts its listing in the thread
            await service.submit(alert(number), "C1")
        await service.advance(30)
        assert store.refused["put_digest"] > 1
        assert service.stats()["possible_duplicates"] == 1

        store.refuse.clear()
        await service.advance(30)
        for number in range(15, 20):
            await service.submit(alert(number), "C1")
        await service.advance(30)

    [parent] = [p for p in slack.posts if not p.is_reply]
    assert len(parent.history) == 3  # edited once per later batch
    assert item_counts(slack) == Counter(f"evt-{n:04d}" for n in range(20))
