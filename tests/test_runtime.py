"""BatchingService on a ManualClock with a recording sender: timing, pages, threads, errors.

The end-to-end tests against FakeSlack and the real slack_sdk client are in
``test_runtime_slack.py``; these pin the runtime's own decisions exactly.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from slack_batcher import (
    BatchConfig,
    BatchingService,
    ManualClock,
    MemoryStore,
    MessageBatcher,
    PermanentDeliveryError,
    ServiceConfig,
    SlackMessage,
    TransientDeliveryError,
)
from slack_batcher.delivery import PostResult
from slack_batcher.runtime import ServiceClosedError

from .factories import alert, pr


@dataclass
class Sent:
    channel: str
    ts: str
    thread_ts: str | None
    text: str
    at: datetime
    metadata: dict[str, object]


@dataclass
class ScriptedSender:
    """A Sender that records posts; ``failures[channel]`` are raised first, in order."""

    clock: ManualClock
    supports_threads: bool = True
    posts: list[Sent] = field(default_factory=list)
    failures: dict[str, list[Exception]] = field(default_factory=dict)
    failing: Exception | None = None
    closed: bool = False

    async def post(
        self, message: SlackMessage, *, channel: str, thread_ts: str | None = None
    ) -> PostResult:
        await asyncio.sleep(0)
        if self.failing is not None:
            raise self.failing
        queued = self.failures.get(channel)
        if queued:
            raise queued.pop(0)
        ts = f"{1700000000 + len(self.posts)}.000100"
        self.posts.append(
            Sent(channel, ts, thread_ts, message.text, self.clock.now(), message.metadata)
        )
        return PostResult(ts=ts if self.supports_threads else None, channel=channel)

    async def close(self) -> None:
        self.closed = True

    def in_channel(self, channel: str) -> list[Sent]:
        return [p for p in self.posts if p.channel == channel]


def make(
    clock: ManualClock,
    *,
    config: BatchConfig | None = None,
    service: ServiceConfig | None = None,
    store: MemoryStore | None = None,
    threads: bool = True,
) -> tuple[MessageBatcher, ScriptedSender, BatchingService]:
    batcher = MessageBatcher(config, clock=clock, store=store or MemoryStore(), auto_ack=False)
    sender = ScriptedSender(clock, supports_threads=threads)
    return batcher, sender, BatchingService(batcher, sender, config=service)


def ids_in(sender: ScriptedSender) -> list[str]:
    found: list[str] = []
    for post in sender.posts:
        if post.metadata.get("page", 1) == 1:
            found.extend(post.metadata.get("message_ids", []))  # type: ignore[arg-type]
    return found


async def test_a_batch_is_posted_exactly_when_its_window_closes(clock: ManualClock) -> None:
    batcher, sender, service = make(clock)
    async with service:
        await service.submit(pr("e1"), "C1")
        await service.submit(pr("e2", action="commented"), "C1")
        await service.advance(299.9)
        assert sender.posts == []
        opened = clock.now() - timedelta(seconds=299.9)
        await service.advance(0.1)
        assert len(sender.posts) == 1
        assert sender.posts[0].at == opened + timedelta(minutes=5)
        assert ids_in(sender) == ["e1", "e2"]
        assert batcher.outbox.size() == 0


async def test_a_full_batch_is_posted_at_once_without_moving_the_clock(
    clock: ManualClock,
) -> None:
    _, sender, service = make(clock)
    async with service:
        for index in range(5):
            await service.submit(pr(f"e{index}"), "C1")
        await service.settle()
        assert len(sender.posts) == 1
        assert sender.posts[0].at == clock.now()


async def test_an_urgent_message_is_posted_at_once(clock: ManualClock) -> None:
    _, sender, service = make(clock)
    async with service:
        await service.submit(alert("a1", priority="critical"), "C1")
        await service.settle()
        assert [p.channel for p in sender.posts] == ["C1"]


async def test_a_channel_never_gets_more_than_its_pace(clock: ManualClock) -> None:
    _, sender, service = make(clock, service=ServiceConfig(channel_burst=2))
    async with service:
        for index in range(50):
            await service.submit(pr(f"e{index}", number=index), "C1")
        await service.settle()
        assert len(sender.posts) == 2  # the burst; the rest waits for the clock
        await service.advance(60)
        assert len(sender.posts) == 10
        times = [p.at for p in sender.posts]
        for first, later in zip(times, times[2:], strict=False):
            assert later - first >= timedelta(seconds=1)


async def test_a_slow_channel_does_not_delay_the_others(clock: ManualClock) -> None:
    _, sender, service = make(clock, service=ServiceConfig(channel_burst=1))
    async with service:
        for index in range(25):
            await service.submit(pr(f"busy{index}", number=index), "CBUSY")
        sender.failures["CBUSY"] = [TransientDeliveryError("ratelimited", retry_after=30)]
        for index in range(5):
            await service.submit(pr(f"q{index}"), "CQUIET")
        await service.settle()
        assert [p.channel for p in sender.posts] == ["CQUIET"]


async def test_pages_are_posted_as_replies_to_page_one_in_order(clock: ManualClock) -> None:
    config = BatchConfig(max_batch_size=12, items_per_page=4)
    _, sender, service = make(clock, config=config)
    async with service:
        for index in range(12):
            await service.submit(pr(f"e{index}", number=index, title=f"T{index}"), "C1")
        await service.advance(10)
    first, *rest = sender.posts
    assert first.thread_ts is None
    assert [p.thread_ts for p in rest] == [first.ts, first.ts]
    assert [p.metadata["page"] for p in sender.posts] == [1, 2, 3]


async def test_without_threads_pages_follow_as_numbered_posts(clock: ManualClock) -> None:
    config = BatchConfig(max_batch_size=8, items_per_page=4)
    _, sender, service = make(clock, config=config, threads=False)
    async with service:
        for index in range(8):
            await service.submit(pr(f"e{index}", number=index), "C1")
        await service.advance(10)
    assert [p.thread_ts for p in sender.posts] == [None, None]
    assert "(2/2)" in sender.posts[1].text


async def test_later_batches_about_the_same_pr_reply_to_the_first_post(
    clock: ManualClock,
) -> None:
    _, sender, service = make(clock, service=ServiceConfig(thread_ttl_seconds=3600))
    async with service:
        await service.submit(pr("e1", number=42), "C1")
        await service.advance(300)
        await service.submit(pr("e2", number=42, action="approved"), "C1")
        await service.submit(pr("e3", repo="acme/web", author="bob", number=7), "C1")
        await service.advance(300)
        await service.advance(3600)
        await service.submit(pr("e4", number=42, action="merged"), "C1")
        await service.advance(300)
    first, second, other, after_ttl = sender.posts
    assert second.thread_ts == first.ts
    assert other.thread_ts is None and other.metadata["message_ids"] == ["e3"]
    assert after_ttl.thread_ts is None


async def test_a_thread_key_in_metadata_overrides_the_derived_one(clock: ManualClock) -> None:
    _, sender, service = make(clock)
    async with service:
        tagged = pr("e1", number=1)
        tagged.metadata["thread_key"] = "incident-9"
        await service.submit(tagged, "C1")
        await service.advance(300)
        again = alert("a1")
        again.metadata["thread_key"] = "incident-9"
        await service.submit(again, "C1")
        await service.advance(300)
    assert sender.posts[1].thread_ts == sender.posts[0].ts


async def test_a_transient_failure_is_retried_with_backoff(clock: ManualClock) -> None:
    service_config = ServiceConfig(retry_base_seconds=2, retry_jitter=0)
    batcher, sender, service = make(clock, service=service_config)
    sender.failures["C1"] = [TransientDeliveryError("http_503"), TransientDeliveryError("timeout")]
    async with service:
        for index in range(5):
            await service.submit(pr(f"e{index}"), "C1")
        start = clock.now()
        await service.advance(1.9)
        assert sender.posts == []
        await service.advance(10)
        assert [p.at - start for p in sender.posts] == [timedelta(seconds=6)]  # 2 s + 4 s
        assert service.stats()["retries"] == 2
        assert service.stats()["possible_duplicates"] == 2
        assert batcher.outbox.size() == 0


async def test_retry_after_is_waited_exactly(clock: ManualClock) -> None:
    _, sender, service = make(clock, service=ServiceConfig(retry_jitter=1))
    sender.failures["C1"] = [TransientDeliveryError("ratelimited", retry_after=17)]
    async with service:
        for index in range(5):
            await service.submit(pr(f"e{index}"), "C1")
        start = clock.now()
        await service.advance(60)
    assert [p.at - start for p in sender.posts] == [timedelta(seconds=17)]
    assert service.stats()["rate_limited"] == 1


async def test_a_missing_channel_is_dead_lettered_while_others_deliver(
    clock: ManualClock,
) -> None:
    batcher, sender, service = make(clock)
    sender.failures["CGONE"] = [PermanentDeliveryError("channel_not_found")]
    async with service:
        await service.submit(pr("g1"), "CGONE")
        await service.submit(pr("ok1"), "COK")
        await service.advance(300)
    assert [p.channel for p in sender.posts] == ["COK"]
    (letter,) = batcher.dead_letters()
    assert letter.error_code == "channel_not_found"
    assert [m.id for m in letter.messages] == ["g1"]
    assert service.stats()["dead_letters"] == 1


async def test_transient_errors_give_up_into_dead_letters_after_the_limit(
    clock: ManualClock,
) -> None:
    service_config = ServiceConfig(retry_give_up_after_seconds=600, retry_max_delay_seconds=60)
    batcher, sender, service = make(clock, service=service_config)
    sender.failing = TransientDeliveryError("http_500")
    async with service:
        await service.submit(pr("e1"), "C1")
        await service.advance(300 + 700)
        (letter,) = batcher.dead_letters()
        assert letter.error_code == "http_500"
        assert "gave up" in letter.reason


async def test_an_auth_error_pauses_everything_and_resumes_when_a_probe_succeeds(
    clock: ManualClock,
) -> None:
    service_config = ServiceConfig(auth_probe_interval_seconds=30)
    batcher, sender, service = make(clock, service=service_config)
    async with service:
        sender.failing = PermanentDeliveryError("invalid_auth")
        for channel in ("C1", "C2", "C3"):
            await service.submit(pr(f"{channel}-e"), channel)
        await service.advance(300)
        assert service.paused
        health = batcher.get_health_status()
        assert health["status"] == "unhealthy"
        assert health["checks"]["delivery_auth"]["status"] == "unhealthy"
        await service.advance(120)
        assert sender.posts == [] and batcher.dead_letters() == []
        assert batcher.outbox.size() == 3
        sender.failing = None  # the token was fixed
        await service.advance(30)
        assert not service.paused
        assert sorted(p.channel for p in sender.posts) == ["C1", "C2", "C3"]
        assert batcher.get_health_status()["checks"]["delivery_auth"]["status"] == "healthy"


async def test_resume_restarts_paused_delivery_at_once(clock: ManualClock) -> None:
    _, sender, service = make(clock, service=ServiceConfig(auth_probe_interval_seconds=3600))
    async with service:
        sender.failing = PermanentDeliveryError("token_revoked")
        await service.submit(pr("e1"), "C1")
        await service.submit(pr("e2"), "C2")
        await service.advance(300)
        assert service.paused
        sender.failing = None
        service.resume()
        await service.settle()
        assert len(sender.posts) == 2


async def test_shutdown_delivers_everything_pending_before_exit(clock: ManualClock) -> None:
    batcher, sender, service = make(clock)
    async with service:
        for index in range(200):
            await service.submit(pr(f"e{index}", number=index % 40), f"C{index % 10}")
    assert sorted(ids_in(sender)) == sorted(f"e{i}" for i in range(200))
    assert batcher.outbox.size() == 0
    assert service.stats()["last_shutdown"]["left_in_outbox"] == 0
    assert sender.closed


async def test_shutdown_leaves_what_it_cannot_deliver_in_the_store(clock: ManualClock) -> None:
    store = MemoryStore()
    service_config = ServiceConfig(shutdown_timeout_seconds=5, channel_burst=1)
    _, sender, service = make(clock, store=store, service=service_config)
    async with service:
        for index in range(200):
            await service.submit(pr(f"e{index}", number=index), "C1")
    delivered = ids_in(sender)
    left = [m.id for entry in store.outbox_entries() for m in entry.messages]
    assert len(sender.posts) == 5  # one per second until the 5 s deadline
    assert sorted(delivered + left) == sorted(f"e{i}" for i in range(200))
    assert service.stats()["last_shutdown"]["left_in_outbox"] == len(store.outbox_entries())


async def test_no_message_is_accepted_after_shutdown(clock: ManualClock) -> None:
    _, _, service = make(clock)
    async with service:
        pass
    with pytest.raises(ServiceClosedError):
        await service.submit(pr("late"), "C1")


async def test_a_thread_outside_the_loop_can_submit(clock: ManualClock) -> None:
    _, sender, service = make(clock)
    async with service:
        results = []
        worker = threading.Thread(
            target=lambda: results.extend(
                service.submit_threadsafe(pr(f"t{i}"), "C1", timeout=5) for i in range(5)
            )
        )
        worker.start()
        while worker.is_alive():
            await asyncio.sleep(0.01)
        worker.join()
        await service.settle()
        assert results[-1].flush_reason == "size"
        assert len(sender.posts) == 1
        with pytest.raises(RuntimeError, match="own event loop"):
            service.submit_threadsafe(pr("x"), "C1")


async def test_a_restart_resumes_a_paged_post_after_its_last_posted_page(
    clock: ManualClock,
) -> None:
    store = MemoryStore()
    config = BatchConfig(max_batch_size=8, items_per_page=4)
    first = MessageBatcher(config, clock=clock, store=store, auto_ack=False)
    for index in range(8):
        first.add(pr(f"e{index}", number=index), "C1")
    (entry,) = store.outbox_entries()
    entry.state.posted = ["1600000000.000001"]
    entry.state.attempting = 1
    store.update_outbox(entry)
    batcher = MessageBatcher(config, clock=clock, store=store, auto_ack=False)
    sender = ScriptedSender(clock)
    async with BatchingService(batcher, sender) as service:
        await service.settle()
    (reply,) = sender.posts
    assert reply.metadata["page"] == 2
    assert reply.thread_ts == "1600000000.000001"
    stats = service.stats()
    assert stats["recovered"] == 1 and stats["possible_duplicates"] == 1


async def test_delivery_figures_appear_in_the_batcher_stats(clock: ManualClock) -> None:
    batcher, _, service = make(clock)
    async with service:
        for index in range(5):
            await service.submit(pr(f"e{index}"), "C1")
        await service.advance(2)
        delivery = batcher.get_batch_stats()["delivery"]
        assert delivery["posts"] == 1
        assert delivery["posts_by_channel"] == {"C1": 1}
        assert delivery["latency_seconds"]["p99"] == 0.0
        checks = batcher.get_health_status()["checks"]
        assert {"delivery_auth", "delivery_stuck_outbox", "delivery_error_rate"} <= set(checks)


async def test_an_outbox_entry_stuck_past_the_limit_turns_health_unhealthy(
    clock: ManualClock,
) -> None:
    batcher, sender, service = make(clock, service=ServiceConfig(stuck_outbox_seconds=600))
    sender.failing = TransientDeliveryError("http_502")
    async with service:
        await service.submit(pr("e1"), "C1")
        await service.advance(300 + 700)
        check = batcher.get_health_status()["checks"]["delivery_stuck_outbox"]
        assert check["status"] == "unhealthy"
        sender.failing = None
        await service.advance(400)
        check = batcher.get_health_status()["checks"]["delivery_stuck_outbox"]
        assert check["status"] == "healthy"


def test_a_bad_service_setting_is_named() -> None:
    from slack_batcher import ConfigError

    with pytest.raises(ConfigError, match="channel_burst"):
        ServiceConfig(channel_burst=0).ensure_valid()


def test_the_service_uses_the_batchers_clock(clock: ManualClock) -> None:
    batcher = MessageBatcher(clock=clock, auto_ack=False)
    with pytest.raises(ValueError, match="clock"):
        BatchingService(batcher, ScriptedSender(clock), clock=ManualClock())


async def test_a_batch_that_cannot_be_flushed_becomes_a_dead_letter_when_stale(
    clock: ManualClock,
) -> None:
    from slack_batcher import BatchFormatterContext, SlackMessageFormatterFactory

    class Broken(SlackMessageFormatterFactory):
        def format_batch(self, context: BatchFormatterContext) -> SlackMessage:
            raise RuntimeError("template missing")

    config = BatchConfig(
        fallback_formatting=False, stale_batch_hours=2, cleanup_interval_minutes=30
    )
    batcher = MessageBatcher(config, Broken(), clock=clock, store=MemoryStore(), auto_ack=False)
    sender = ScriptedSender(clock)
    async with BatchingService(batcher, sender) as service:
        await service.submit(pr("e1"), "C1")
        await service.advance(timedelta(hours=1))
        assert batcher.inspect_pending_batches()["total_messages"] == 1  # retried, not lost
        await service.advance(timedelta(hours=1, minutes=30))
        [letter] = batcher.dead_letters()
        assert letter.reason.startswith("stale: pending")
        assert [m.id for m in letter.messages] == ["e1"]
        assert sender.posts == []
