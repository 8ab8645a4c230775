"""Behaviours of MessageBatcher beyond the seed's acceptance criteria."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest

from slack_batcher import (
    BatchConfig,
    BatchStrategy,
    ConfigError,
    ManualClock,
    MessageBatcher,
    SlackMessage,
)
from slack_batcher.model.errors import BatchNotFoundError
from tests.factories import T0, alert, jira, pr

MakeBatcher = Callable[..., MessageBatcher]


def ids(messages: list[SlackMessage]) -> list[str]:
    return [i for m in messages for i in m.metadata["message_ids"]]


class TestWindow:
    def test_two_messages_two_seconds_apart_across_a_five_minute_boundary_stay_together(
        self, make_batcher: MakeBatcher, clock: ManualClock
    ) -> None:
        clock.set(T0 + timedelta(minutes=4, seconds=59))
        batcher = make_batcher()
        batcher.add_message(pr("gh-1"), "C1")
        clock.advance(2)  # 09:05:01 — a wall-clock-aligned window would split here
        batcher.add_message(pr("gh-2"), "C1")
        assert batcher.inspect_pending_batches()["total_batches"] == 1

    def test_later_messages_do_not_move_the_due_time(
        self, make_batcher: MakeBatcher, clock: ManualClock
    ) -> None:
        batcher = make_batcher()
        batcher.add_message(pr("gh-1"), "C1")
        clock.advance(290)
        batcher.add_message(pr("gh-2"), "C1")
        clock.advance(10)
        assert ids(batcher.flush_expired_batches()["C1"]) == ["gh-1", "gh-2"]

    def test_a_message_with_an_old_timestamp_is_batched_by_arrival_not_flushed_alone(
        self, make_batcher: MakeBatcher, clock: ManualClock
    ) -> None:
        batcher = make_batcher()
        old = pr("gh-old", timestamp=T0 - timedelta(hours=3))
        assert batcher.add_message(old, "C1") is None
        assert batcher.flush_expired_batches() == {}
        clock.advance(300)
        assert ids(batcher.flush_expired_batches()["C1"]) == ["gh-old"]

    def test_next_due_at_is_the_earliest_pending_deadline(
        self, make_batcher: MakeBatcher, clock: ManualClock
    ) -> None:
        batcher = make_batcher()
        assert batcher.next_due_at() is None
        batcher.add_message(pr("gh-1"), "C1")
        first_due = clock.now() + timedelta(minutes=5)
        clock.advance(30)
        batcher.add_message(pr("gh-2", repo="acme/web"), "C1")
        assert batcher.next_due_at() == first_due
        batcher.force_flush_batch(batcher.add(pr("gh-1"), "C1").batch_id)
        assert batcher.next_due_at() == first_due + timedelta(seconds=30)


class TestPriority:
    def test_a_critical_message_flushes_its_batch_at_once(self, make_batcher: MakeBatcher) -> None:
        batcher = make_batcher()
        batcher.add_message(alert("al-1", priority="high"), "ops")
        message = batcher.add_message(alert("al-2", priority="critical"), "ops")
        assert message is not None
        assert message.metadata["message_ids"] == ["al-2", "al-1"]  # critical first

    def test_urgent_priorities_are_configurable(self, make_batcher: MakeBatcher) -> None:
        batcher = make_batcher(BatchConfig(urgent_priorities=["critical", "high"]))
        assert batcher.add_message(alert("al-1", priority="high"), "ops") is not None
        calm = make_batcher(BatchConfig(urgent_priorities=[]))
        assert calm.add_message(alert("al-2", priority="critical"), "ops") is None

    def test_items_are_ordered_by_priority_then_time(self, make_batcher: MakeBatcher) -> None:
        batcher = make_batcher()
        batcher.add_message(pr("low", priority="low", timestamp=T0), "C1")
        batcher.add_message(pr("high-late", priority="high", timestamp=T0 + timedelta(1)), "C1")
        batcher.add_message(pr("high-early", priority="high", timestamp=T0), "C1")
        message = batcher.flush_all_batches()["C1"][0]
        assert message.metadata["message_ids"] == ["high-early", "high-late", "low"]


class TestDedup:
    def test_a_pending_message_id_is_not_batched_twice(self, make_batcher: MakeBatcher) -> None:
        batcher = make_batcher()
        first = batcher.add(pr("gh-1"), "C1")
        again = batcher.add(pr("gh-1", title="redelivered"), "C1")
        assert again.duplicate and again.batch_id == first.batch_id
        stats = batcher.get_batch_stats()
        assert (stats["duplicates"], stats["messages_pending"]) == (1, 1)
        assert batcher.get_channel_stats("C1").duplicates == 1  # type: ignore[union-attr]

    def test_an_id_can_come_again_after_its_batch_was_sent(self, make_batcher: MakeBatcher) -> None:
        batcher = make_batcher()
        batcher.add_message(pr("gh-1"), "C1")
        batcher.flush_all_batches()
        assert not batcher.add(pr("gh-1"), "C1").duplicate


class TestGrouping:
    def test_messages_about_different_repositories_do_not_group(
        self, make_batcher: MakeBatcher
    ) -> None:
        batcher = make_batcher()
        batcher.add_message(pr("a", repo="acme/api"), "C1")
        batcher.add_message(pr("b", repo="acme/web"), "C1")
        assert batcher.inspect_pending_batches()["total_batches"] == 2

    def test_a_reviewer_on_the_same_repository_joins_the_authors_batch(
        self, make_batcher: MakeBatcher
    ) -> None:
        batcher = make_batcher()
        batcher.add_message(pr("a", author="alice"), "C1")
        batcher.add_message(pr("b", author="bob", action="reviewed"), "C1")
        assert batcher.inspect_pending_batches()["total_batches"] == 1

    def test_the_similarity_threshold_decides(self, make_batcher: MakeBatcher) -> None:
        # same author and type, different repository: score 0.6
        loose = make_batcher(BatchConfig(similarity_threshold=0.6))
        strict = make_batcher(BatchConfig(similarity_threshold=0.7))
        for batcher, channel in ((loose, "L"), (strict, "S")):
            batcher.add_message(pr(f"{channel}1", repo="acme/api"), channel)
            batcher.add_message(pr(f"{channel}2", repo="acme/web"), channel)
        assert loose.inspect_pending_batches()["channels"]["L"]["batch_count"] == 1
        assert strict.inspect_pending_batches()["channels"]["S"]["batch_count"] == 2

    def test_threshold_one_groups_only_identical_profiles(self, make_batcher: MakeBatcher) -> None:
        batcher = make_batcher(BatchConfig(similarity_threshold=1.0))
        batcher.add_message(pr("a", author="alice"), "C1")
        batcher.add_message(pr("b", author="bob"), "C1")
        batcher.add_message(pr("c", author="alice"), "C1")
        assert batcher.inspect_pending_batches()["channels"]["C1"]["batch_count"] == 2

    def test_a_message_joins_the_most_similar_batch(self, make_batcher: MakeBatcher) -> None:
        batcher = make_batcher()
        jira_batch = batcher.add(jira("j1", author="bob"), "C1").batch_id
        pr_batch = batcher.add(pr("p1", author="alice"), "C1").batch_id
        assert jira_batch != pr_batch  # 0.4: same scope only
        # alice's PR review: scope+author+type with p1 (1.0) beats scope only with j1 (0.4)
        assert batcher.add(pr("p2", author="alice"), "C1").batch_id == pr_batch

    def test_time_based_alone_makes_one_digest_per_channel_window(
        self, make_batcher: MakeBatcher
    ) -> None:
        batcher = make_batcher(BatchConfig(strategies=[BatchStrategy.TIME_BASED]))
        batcher.add_message(pr("a", repo="acme/api"), "C1")
        batcher.add_message(jira("b", project="OTHER", author="zed"), "C1")
        batcher.add_message(alert("c"), "C1")
        assert batcher.inspect_pending_batches()["total_batches"] == 1

    def test_author_based_keeps_each_author_apart(self, make_batcher: MakeBatcher) -> None:
        config = BatchConfig(strategies=[BatchStrategy.AUTHOR_BASED])
        batcher = make_batcher(config)
        batcher.add_message(pr("a1", author="alice"), "C1")
        batcher.add_message(pr("b1", author="bob"), "C1")
        batcher.add_message(jira("a2", author="alice", project="x"), "C1")
        sizes = sorted(
            b["message_count"]
            for b in batcher.inspect_pending_batches()["channels"]["C1"]["batches"]
        )
        assert sizes == [1, 2]

    def test_priority_based_never_mixes_priorities(self, make_batcher: MakeBatcher) -> None:
        config = BatchConfig(
            strategies=[BatchStrategy.PRIORITY_BASED, BatchStrategy.CONTENT_SIMILARITY]
        )
        batcher = make_batcher(config)
        batcher.add_message(pr("a", priority="low"), "C1")
        batcher.add_message(pr("b", priority="high"), "C1")
        batcher.add_message(pr("c", priority="low"), "C1")
        view = batcher.inspect_pending_batches()["channels"]["C1"]["batches"]
        assert sorted({i["priority"] for i in b["items"]}.pop() for b in view) == ["high", "low"]

    def test_mixed_groups_only_the_same_kind_from_the_same_author_and_project(
        self, make_batcher: MakeBatcher
    ) -> None:
        batcher = make_batcher(BatchConfig(strategies=[BatchStrategy.MIXED]))
        batcher.add_message(pr("a"), "C1")
        batcher.add_message(jira("b"), "C1")  # same author and project, other type
        batcher.add_message(pr("c", number=43), "C1")
        assert batcher.inspect_pending_batches()["channels"]["C1"]["batch_count"] == 2


class TestResourceManagement:
    def test_past_max_channels_the_least_active_channel_is_flushed_not_dropped(
        self, make_batcher: MakeBatcher, clock: ManualClock
    ) -> None:
        batcher = make_batcher(BatchConfig(max_channels=2))
        batcher.add_message(pr("one"), "C1")
        clock.advance(1)
        batcher.add_message(pr("two"), "C2")
        clock.advance(1)
        batcher.add_message(pr("one-b"), "C1")  # C1 is now the most recently active
        batcher.add_message(pr("three"), "C3")
        assert sorted(batcher.inspect_pending_batches()["channels"]) == ["C1", "C3"]
        assert batcher.get_batch_stats()["flush_reasons"] == {"overflow": 1}
        # the overflowed batch is handed over by the next flush call
        assert ids(batcher.flush_expired_batches()["C2"]) == ["two"]

    def test_memory_budget_flushes_the_oldest_batches_first(
        self, make_batcher: MakeBatcher, clock: ManualClock
    ) -> None:
        batcher = make_batcher(BatchConfig(memory_budget_bytes=4096, max_batch_size=100))
        for i in range(12):
            batcher.add_message(pr(f"gh-{i}", repo=f"acme/r{i}"), "C1")
            clock.advance(1)
        stats = batcher.get_batch_stats()
        assert stats["flush_reasons"]["memory_pressure"] >= 1
        assert stats["memory_estimate_bytes"] <= 4096
        handed_over = ids(batcher.flush_expired_batches()["C1"])
        assert handed_over[0] == "gh-0"
        pending = [
            i["id"]
            for b in batcher.inspect_pending_batches()["channels"]["C1"]["batches"]
            for i in b["items"]
        ]
        assert sorted(handed_over + pending) == sorted(f"gh-{i}" for i in range(12))

    def test_stale_batches_become_dead_letters_that_can_be_replayed(
        self, make_batcher: MakeBatcher, clock: ManualClock
    ) -> None:
        batcher = make_batcher()
        batcher.add_message(pr("gh-1"), "C1")
        batcher.add_message(pr("gh-2"), "C1")
        clock.advance(timedelta(hours=25))
        assert batcher.cleanup_stale_batches(max_age_hours=24) == 1
        [letter] = batcher.dead_letters()
        assert letter.reason.startswith("stale: pending 25.0 h")
        assert [m.id for m in letter.messages] == ["gh-1", "gh-2"]
        assert batcher.inspect_pending_batches()["total_messages"] == 0
        assert batcher.replay_dead_letter(letter.id) == 2
        assert batcher.dead_letters() == []
        assert batcher.inspect_pending_batches()["total_messages"] == 2
        with pytest.raises(BatchNotFoundError, match="no dead letter"):
            batcher.replay_dead_letter(letter.id)

    def test_cleanup_leaves_young_batches_alone(
        self, make_batcher: MakeBatcher, clock: ManualClock
    ) -> None:
        batcher = make_batcher()
        batcher.add_message(pr("gh-1"), "C1")
        clock.advance(timedelta(hours=23))
        assert batcher.cleanup_stale_batches() == 0

    def test_leaving_a_with_block_keeps_flushed_messages_in_the_outbox(
        self, make_batcher: MakeBatcher
    ) -> None:
        with make_batcher() as batcher:
            batcher.add_message(pr("gh-1"), "C1")
        entries = batcher.outbox.drain()
        assert [e.message.metadata["message_ids"] for e in entries] == [["gh-1"]]
        assert batcher.outbox.size() == 0

    def test_disabled_batching_passes_each_message_through(self, make_batcher: MakeBatcher) -> None:
        batcher = make_batcher(BatchConfig(enabled=False))
        message = batcher.add_message(pr("gh-1"), "C1")
        assert message is not None and message.metadata["message_ids"] == ["gh-1"]
        assert batcher.inspect_pending_batches()["total_batches"] == 0


class TestOutbox:
    def test_without_auto_ack_every_flush_waits_in_the_outbox_until_acked(
        self, make_batcher: MakeBatcher
    ) -> None:
        batcher = make_batcher(auto_ack=False)
        for i in range(5):
            batcher.add_message(pr(f"gh-{i}"), "C1")
        [entry] = batcher.pending_outbox()
        assert entry.channel_id == "C1" and len(entry.messages) == 5
        assert batcher.ack(entry.id)
        assert batcher.pending_outbox() == [] and not batcher.ack(entry.id)

    def test_an_undeliverable_post_becomes_a_dead_letter_with_its_code(
        self, make_batcher: MakeBatcher
    ) -> None:
        batcher = make_batcher(auto_ack=False)
        batcher.add_message(pr("gh-1"), "C-gone")
        batcher.flush_all_batches()
        [entry] = batcher.pending_outbox()
        letter = batcher.outbox.dead_letter(entry.id, "channel_not_found", "channel_not_found")
        assert letter is not None and letter.error_code == "channel_not_found"
        assert batcher.outbox.size() == 0
        assert [d.id for d in batcher.dead_letters("C-gone")] == [letter.id]
        assert batcher.outbox.dead_letter(entry.id, "again") is None


class TestIdsAndThreads:
    def test_batch_ids_are_unique_across_batchers_and_restarts(self) -> None:
        seen = set()
        for _ in range(20):
            batcher = MessageBatcher(clock=ManualClock(T0))
            seen.add(batcher.add(pr("gh-1"), "C1").batch_id)
        assert len(seen) == 20

    def test_concurrent_adds_from_threads_lose_nothing(self) -> None:
        batcher = MessageBatcher(BatchConfig(max_batch_size=7), clock=ManualClock(T0))
        sent: list[SlackMessage] = []
        lock = threading.Lock()

        def worker(n: int) -> None:
            for i in range(500):
                message = batcher.add_message(pr(f"{n}-{i}", repo=f"r{i % 5}"), f"C{i % 3}")
                if message is not None:
                    with lock:
                        sent.append(message)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        rest = [m for ms in batcher.flush_all_batches().values() for m in ms]
        delivered = ids(sent + rest)
        assert sorted(delivered) == sorted(f"{n}-{i}" for n in range(4) for i in range(500))


def test_an_invalid_config_is_refused_with_every_problem_named() -> None:
    with pytest.raises(ConfigError) as caught:
        MessageBatcher(BatchConfig(max_batch_size=0, similarity_threshold=1.5, strategies=[]))
    text = str(caught.value)
    assert "max_batch_size" in text and "similarity_threshold" in text and "strategies" in text


def test_a_preview_shows_the_post_without_flushing_or_counting_it(
    make_batcher: MakeBatcher,
) -> None:
    batcher = make_batcher()
    batch_id = batcher.add(pr("gh-1", title="Add auth"), "C1").batch_id
    preview = batcher.preview_batch(batch_id)
    assert preview is not None and "Add auth" in preview.text
    assert batcher.inspect_pending_batches()["total_messages"] == 1
    assert batcher.get_batch_stats()["formatter"]["fallback_used"] == 0
    assert batcher.preview_batch("b_missing") is None
