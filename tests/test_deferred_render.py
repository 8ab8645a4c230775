"""A flush into a live digest is rendered only when its own post is shown.

The service flushes a batch that joins a live digest with a stand-in: a digest's listing or
a reply of several flushes is rendered from the digest, so the batch's own post would be
rendered for nothing. Whenever that post is shown after all — its digest expired before
its turn, a restart, a dead letter — it must read as if rendered at its flush.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from slack_batcher import BatchConfig, ManualClock, MessageBatcher, SQLiteStore
from slack_batcher.core.rendering import is_deferred
from slack_batcher.runtime import ServiceConfig
from slack_batcher.testing import FakeSlack
from tests.test_runtime_digest_news import service_for
from tests.test_runtime_digests import item, storm, tags, top_level


async def test_a_flush_whose_digest_expired_before_its_turn_is_posted_in_full(
    clock: ManualClock, slack: FakeSlack
) -> None:
    slow = ServiceConfig(channel_posts_per_second=0.01, channel_burst=1)  # a call per 100 s
    batching = BatchConfig(max_batch_size=1, digest_window_minutes=1)
    service = service_for(clock, slack, slow, batching)
    async with service:
        await storm(service, range(1), every=10.0)  # the first post: the digest, until 70 s
        await storm(service, range(1, 2), every=1.0)  # flushed into it: its render waits
        [entry] = service.batcher.outbox.entries()
        assert is_deferred(entry.message)
        await service.advance(timedelta(minutes=5))  # its turn comes at 100 s: digest gone

    first, second = top_level(slack)
    assert tags(first) == {"evt-0000"} and tags(second) == {"evt-0001"}
    assert second.blocks and "evt-0001" in second.text


def _deferred_batcher(path: Path, clock: ManualClock) -> MessageBatcher:
    batcher = MessageBatcher(
        BatchConfig(max_batch_size=2), clock=clock, store=SQLiteStore(path), auto_ack=False
    )
    batcher.flusher.defer_render = lambda batch: True
    return batcher


def test_a_deferred_flush_left_in_the_outbox_reads_the_same_after_a_restart(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "batches.db"
    rendered = MessageBatcher(BatchConfig(max_batch_size=2), clock=clock)
    [expected] = [r.flushed for r in (rendered.add(item(n), "C1") for n in range(2)) if r.flushed]
    first = _deferred_batcher(path, clock)
    for number in range(2):
        first.add(item(number), "C1")
    first.close()

    again = MessageBatcher(
        BatchConfig(max_batch_size=2), clock=clock, store=SQLiteStore(path), auto_ack=False
    )
    [entry] = again.outbox.entries()
    assert is_deferred(entry.message)  # stored as flushed
    assert again.outbox.message_of(entry).blocks == expected.blocks
    letter = again.outbox.dead_letter(entry.id, "Slack refused it")
    assert letter is not None and letter.message is not None
    assert letter.message.blocks == expected.blocks  # a dead letter shows the real post
    again.close()
