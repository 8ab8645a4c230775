"""One test per acceptance criterion of the seed's requirements 1.1–7.4, named by it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_batcher import (
    BatchConfig,
    BatchFormatterContext,
    ManualClock,
    MessageBatcher,
    SlackMessage,
    SlackMessageFormatterFactory,
)
from tests.factories import alert, jira, pr

MakeBatcher = Callable[..., MessageBatcher]


def all_ids(messages: list[SlackMessage]) -> list[str]:
    return [i for m in messages for i in m.metadata["message_ids"]]


def test_req_1_1_related_notifications_within_five_minutes_become_one_batch(
    make_batcher: MakeBatcher, clock: ManualClock
) -> None:
    batcher = make_batcher()
    for i in range(3):
        assert batcher.add_message(pr(f"gh-{i}", number=40 + i), "C1") is None
        clock.advance(60)
    assert batcher.inspect_pending_batches()["total_batches"] == 1
    clock.advance(120)
    flushed = batcher.flush_expired_batches()
    assert [len(m.metadata["message_ids"]) for m in flushed["C1"]] == [3]


def test_req_1_2_expired_window_sends_the_batch(
    make_batcher: MakeBatcher, clock: ManualClock
) -> None:
    batcher = make_batcher()
    batcher.add_message(pr("gh-1"), "C1")
    clock.advance(299)
    assert batcher.flush_expired_batches() == {}
    clock.advance(1)
    assert all_ids(batcher.flush_expired_batches()["C1"]) == ["gh-1"]


def test_req_1_3_different_types_with_same_project_and_author_batch_together(
    make_batcher: MakeBatcher,
) -> None:
    batcher = make_batcher()
    batcher.add_message(pr("gh-1", author="alice", repo="acme/api"), "C1")
    batcher.add_message(jira("jira-1", author="alice", project="acme/api"), "C1")
    pending = batcher.inspect_pending_batches()
    assert pending["total_batches"] == 1
    assert pending["channels"]["C1"]["batches"][0]["batch_type"] == "team_activity"


def test_req_1_4_full_batch_is_sent_before_the_time_limit(make_batcher: MakeBatcher) -> None:
    batcher = make_batcher()
    results = [batcher.add_message(pr(f"gh-{i}"), "C1") for i in range(5)]
    assert results[:4] == [None] * 4
    assert results[4] is not None
    assert results[4].metadata["message_count"] == 5


def test_req_2_1_each_channel_has_its_own_queue(make_batcher: MakeBatcher) -> None:
    batcher = make_batcher()
    for i in range(4):
        batcher.add_message(pr(f"a-{i}"), "C1")
        batcher.add_message(pr(f"b-{i}"), "C2")
    pending = batcher.inspect_pending_batches()
    assert {c: v["message_count"] for c, v in pending["channels"].items()} == {"C1": 4, "C2": 4}
    # the fifth message in C1 flushes C1 only
    assert batcher.add_message(pr("a-4"), "C1") is not None
    assert set(batcher.inspect_pending_batches()["channels"]) == {"C2"}


def test_req_2_2_channels_without_activity_hold_no_queue(make_batcher: MakeBatcher) -> None:
    batcher = make_batcher()
    assert batcher.inspect_pending_batches()["channels"] == {}
    batcher.add_message(pr("gh-1"), "C1")
    batcher.flush_channel_batches("C1")
    assert batcher.inspect_pending_batches()["channels"] == {}
    assert batcher.get_batch_stats()["active_channels"] == 0


def test_req_2_3_all_or_one_channel_can_be_flushed(make_batcher: MakeBatcher) -> None:
    batcher = make_batcher()
    for channel in ("C1", "C2", "C3"):
        batcher.add_message(pr(f"{channel}-1"), channel)
    assert all_ids(batcher.flush_channel_batches("C2")) == ["C2-1"]
    rest = batcher.flush_all_batches()
    assert sorted(rest) == ["C1", "C3"]


def test_req_2_4_statistics_are_kept_per_channel(make_batcher: MakeBatcher) -> None:
    batcher = make_batcher()
    for i in range(5):
        batcher.add_message(pr(f"a-{i}"), "C1")
    batcher.add_message(pr("b-0"), "C2")
    c1, c2 = batcher.get_channel_stats("C1"), batcher.get_channel_stats("C2")
    assert c1 is not None and c2 is not None
    assert (c1.messages_batched, c1.batches_sent, c1.pending_message_count) == (5, 1, 0)
    assert (c2.messages_batched, c2.batches_sent, c2.pending_message_count) == (1, 0, 1)
    assert batcher.get_channel_stats("C-never") is None


def test_req_3_1_fifth_item_sends_immediately_regardless_of_time_left(
    make_batcher: MakeBatcher, clock: ManualClock
) -> None:
    batcher = make_batcher()
    for i in range(4):
        batcher.add_message(pr(f"gh-{i}"), "C1")
    clock.advance(5)
    message = batcher.add_message(pr("gh-4"), "C1")
    assert message is not None
    assert batcher.get_batch_stats()["flush_reasons"] == {"size": 1}


def test_req_3_2_batch_open_five_minutes_is_sent_whatever_its_size(
    make_batcher: MakeBatcher, clock: ManualClock
) -> None:
    batcher = make_batcher()
    batcher.add_message(pr("gh-1"), "C1")
    clock.advance(300)
    assert len(batcher.flush_expired_batches()["C1"]) == 1


def test_req_3_3_shutdown_flushes_every_pending_batch(make_batcher: MakeBatcher) -> None:
    batcher = make_batcher()
    batcher.add_message(pr("gh-1"), "C1")
    batcher.add_message(alert("al-1"), "C2")
    flushed = batcher.shutdown()
    assert sorted(all_ids(flushed["C1"]) + all_ids(flushed["C2"])) == ["al-1", "gh-1"]
    assert batcher.inspect_pending_batches()["total_batches"] == 0


def test_req_3_4_manual_flush_force_sends_one_batch(make_batcher: MakeBatcher) -> None:
    batcher = make_batcher()
    batch_id = batcher.add(pr("gh-1"), "C1").batch_id
    message = batcher.force_flush_batch(batch_id)
    assert message is not None and message.metadata["batch_id"] == batch_id
    assert batcher.force_flush_batch(batch_id) is None


class RecordingFactory(SlackMessageFormatterFactory):
    def __init__(self) -> None:
        self.contexts: list[BatchFormatterContext] = []

    def format_batch(self, context: BatchFormatterContext) -> SlackMessage:
        self.contexts.append(context)
        return super().format_batch(context)


def test_req_4_1_batches_are_formatted_by_the_formatter_factory(
    make_batcher: MakeBatcher,
) -> None:
    factory = RecordingFactory()
    batcher = make_batcher(formatter_factory=factory)
    batcher.add_message(pr("gh-1"), "C1")
    batcher.flush_all_batches()
    assert [c.message_count for c in factory.contexts] == [1]
    assert batcher.get_batch_stats()["formatter"]["formatter_used"] == 1


def test_req_4_2_each_type_in_a_mixed_batch_is_shown_as_its_type(
    make_batcher: MakeBatcher,
) -> None:
    batcher = make_batcher()
    batcher.add_message(pr("gh-1", title="Add auth"), "C1")
    batcher.add_message(jira("jira-1", summary="Token refresh"), "C1")
    message = batcher.flush_all_batches()["C1"][0]
    rendered = str(message.blocks)
    assert "Add auth" in rendered and "Token refresh" in rendered
    assert "pull/42" in rendered and "browse/API-7" in rendered


def test_req_4_3_every_batch_message_has_fallback_text(make_batcher: MakeBatcher) -> None:
    batcher = make_batcher()
    batcher.add_message(pr("gh-1", title="Add auth"), "C1")
    message = batcher.flush_all_batches()["C1"][0]
    assert "Add auth" in message.text
    assert message.text.strip()


class BrokenFactory(SlackMessageFormatterFactory):
    def format_batch(self, context: BatchFormatterContext) -> SlackMessage:
        raise RuntimeError("template missing")


def test_req_4_4_failed_formatting_falls_back_to_plain_formatting(
    make_batcher: MakeBatcher,
) -> None:
    batcher = make_batcher(formatter_factory=BrokenFactory())
    batcher.add_message(pr("gh-1", title="Add auth"), "C1")
    message = batcher.flush_all_batches()["C1"][0]
    assert "Add auth" in message.text
    assert message.metadata["formatter"] == "fallback"
    assert "template missing" in message.metadata["fallback_reason"]
    formatter = batcher.get_batch_stats()["formatter"]
    assert (formatter["formatter_errors"], formatter["fallback_used"]) == (1, 1)


def test_req_5_1_flush_all_sends_everything_pending(make_batcher: MakeBatcher) -> None:
    batcher = make_batcher()
    for i in range(3):
        batcher.add_message(pr(f"gh-{i}", repo=f"acme/r{i}"), f"C{i}")
    assert sum(len(v) for v in batcher.flush_all_batches().values()) == 3
    assert batcher.get_batch_stats()["messages_pending"] == 0


def test_req_5_2_flush_of_one_channel_leaves_others_pending(make_batcher: MakeBatcher) -> None:
    batcher = make_batcher()
    batcher.add_message(pr("gh-1"), "C1")
    batcher.add_message(pr("gh-2"), "C2")
    batcher.flush_channel_batches("C1")
    assert list(batcher.inspect_pending_batches()["channels"]) == ["C2"]
    assert batcher.flush_channel_batches("C-unknown") == []


def test_req_5_3_expired_flush_sends_only_expired_batches(
    make_batcher: MakeBatcher, clock: ManualClock
) -> None:
    batcher = make_batcher()
    batcher.add_message(pr("old"), "C1")
    clock.advance(200)
    batcher.add_message(pr("new", repo="acme/web"), "C1")
    clock.advance(100)
    assert all_ids(batcher.flush_expired_batches()["C1"]) == ["old"]
    assert batcher.inspect_pending_batches()["total_messages"] == 1


def test_req_5_4_pending_batches_can_be_inspected_without_sending(
    make_batcher: MakeBatcher, clock: ManualClock
) -> None:
    batcher = make_batcher()
    batcher.add_message(pr("gh-1", title="Add auth"), "C1")
    view: dict[str, Any] = batcher.inspect_pending_batches("C1")
    batch = view["channels"]["C1"]["batches"][0]
    assert batch["message_count"] == 1
    assert batch["items"][0]["summary"] == "Add auth"
    assert batch["due_at"] == (clock.now() + BatchConfig().max_batch_age).isoformat()
    assert batcher.inspect_pending_batches("C1") == view
    assert batcher.get_batch_stats()["batches_sent"] == 0


def test_req_6_1_stats_report_batches_created_sent_and_pending(
    make_batcher: MakeBatcher,
) -> None:
    batcher = make_batcher()
    for i in range(6):
        batcher.add_message(pr(f"gh-{i}"), "C1")
    stats = batcher.get_batch_stats()
    assert (stats["batches_created"], stats["batches_sent"], stats["batches_pending"]) == (2, 1, 1)


def test_req_6_2_stats_track_batch_size_time_to_send_and_channel_activity(
    make_batcher: MakeBatcher, clock: ManualClock
) -> None:
    batcher = make_batcher()
    for i in range(2):
        batcher.add_message(pr(f"gh-{i}"), "C1")
    clock.advance(300)
    batcher.flush_expired_batches()
    stats = batcher.get_batch_stats()
    assert stats["average_batch_size"] == 2
    assert stats["average_time_to_send"] == 300
    assert stats["by_channel"]["C1"]["messages_batched"] == 2


def test_req_6_3_health_alerts_on_stuck_batches_and_large_queues(
    make_batcher: MakeBatcher, clock: ManualClock
) -> None:
    batcher = make_batcher(BatchConfig(max_pending_messages=10, max_batch_size=50))
    for i in range(9):
        batcher.add_message(pr(f"gh-{i}"), "C1")
    health = batcher.get_health_status()
    assert health["checks"]["queue_size"]["status"] == "degraded"
    clock.advance(300 + 61)  # due, and past the 60 s grace: nobody flushed it
    health = batcher.get_health_status()
    assert health["checks"]["stuck_batches"]["status"] == "unhealthy"
    assert health["status"] == "unhealthy"
    batcher.flush_expired_batches()
    assert batcher.get_health_status()["status"] == "healthy"


def test_req_6_4_insights_show_busiest_channels_and_efficiency(
    make_batcher: MakeBatcher,
) -> None:
    batcher = make_batcher()
    for i in range(10):
        batcher.add_message(pr(f"a-{i}"), "busy")
    batcher.add_message(pr("b-0"), "quiet")
    insights = batcher.get_health_status()["insights"]
    assert insights["busiest_channels"][0] == {"channel_id": "busy", "messages": 10, "posts": 2}
    assert insights["posts_saved"] == 8
    assert insights["reduction_ratio"] == 0.8


def test_req_7_1_channel_aware_structures_are_used_throughout(make_batcher: MakeBatcher) -> None:
    batcher = make_batcher()
    a = batcher.add(pr("same-id"), "C1")
    b = batcher.add(pr("same-id"), "C2")
    assert not a.duplicate and not b.duplicate  # dedup is per channel
    assert a.batch_id != b.batch_id


def test_req_7_2_no_batch_is_shared_between_channels(make_batcher: MakeBatcher) -> None:
    batcher = make_batcher()
    for i in range(3):
        batcher.add_message(pr(f"x-{i}"), "C1")
        batcher.add_message(pr(f"y-{i}"), "C2")
    for channel, view in batcher.inspect_pending_batches()["channels"].items():
        assert all(b["channel_id"] == channel for b in view["batches"])


def test_req_7_3_statistics_reflect_every_channel_queue(make_batcher: MakeBatcher) -> None:
    batcher = make_batcher()
    for i in range(7):
        batcher.add_message(pr(f"gh-{i}", repo=f"acme/r{i % 3}"), f"C{i % 2}")
    stats, view = batcher.get_batch_stats(), batcher.inspect_pending_batches()
    assert stats["messages_pending"] == view["total_messages"] == 7
    assert stats["batches_pending"] == view["total_batches"]


def test_req_7_4_flushed_channels_release_their_memory(make_batcher: MakeBatcher) -> None:
    batcher = make_batcher()
    for n in range(200):
        batcher.add_message(pr(f"gh-{n}"), f"C{n}")
        batcher.flush_channel_batches(f"C{n}")
    stats = batcher.get_batch_stats()
    assert (stats["active_channels"], stats["messages_pending"]) == (0, 0)
    assert stats["memory_estimate_bytes"] == 0
