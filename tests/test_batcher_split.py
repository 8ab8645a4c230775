"""The batcher's parts: overflow order, per-channel config, flush reasons, the outbox object."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slack_batcher import (
    BatchableMessage,
    BatchConfig,
    BatchGroup,
    BatchStrategy,
    ConfigError,
    ManualClock,
    MessageBatcher,
)
from slack_batcher.core.flush import FlushReason
from slack_batcher.model.errors import StoreError
from slack_batcher.store.base import OutboxEntry
from slack_batcher.store.sqlite.store import SQLiteStore
from tests.factories import alert, pr

MakeBatcher = Callable[..., MessageBatcher]


class TestOverflowOrder:
    def test_opening_a_second_batch_in_a_known_channel_counts_as_activity(
        self, make_batcher: MakeBatcher, clock: ManualClock
    ) -> None:
        batcher = make_batcher(BatchConfig(max_channels=2))
        batcher.add_message(pr("a1", repo="acme/api"), "A")
        clock.advance(1)
        batcher.add_message(pr("b1"), "B")
        clock.advance(1)
        # A different repository: a new batch in A, and A is now the most recently active.
        batcher.add_message(pr("a2", repo="acme/web"), "A")
        assert batcher.inspect_pending_batches()["channels"]["A"]["batch_count"] == 2
        batcher.add_message(pr("c1"), "C")
        assert sorted(batcher.inspect_pending_batches()["channels"]) == ["A", "C"]
        assert [m.channel for m in batcher.flush_expired_batches()["B"]] == ["B"]

    @settings(max_examples=60, deadline=None)
    @given(
        limit=st.integers(1, 40),
        adds=st.lists(st.tuples(st.integers(0, 60), st.booleans()), max_size=300),
    )
    def test_overflow_always_flushes_the_least_recently_active_channel(
        self, limit: int, adds: list[tuple[int, bool]]
    ) -> None:
        batcher = MessageBatcher(
            BatchConfig(max_channels=limit, max_batch_size=1000), clock=ManualClock()
        )
        model: OrderedDict[str, None] = OrderedDict()  # least recently active first
        for n, (slot, other_repo) in enumerate(adds):
            channel = f"C{slot}"
            repo = "acme/web" if other_repo else "acme/api"  # a new batch in a known channel
            batcher.add_message(pr(f"m{n}", repo=repo), channel)
            if channel not in model and len(model) >= limit:
                model.popitem(last=False)
            model[channel] = None
            model.move_to_end(channel)
            assert sorted(batcher.inspect_pending_batches()["channels"]) == sorted(model)


class TestChannelConfig:
    def test_a_channel_override_changes_its_batch_size_and_window_only(
        self, make_batcher: MakeBatcher, clock: ManualClock
    ) -> None:
        batcher = make_batcher()
        batcher.configure_channel("ops", BatchConfig(max_batch_size=2, max_batch_age_minutes=1))
        assert batcher.add_message(pr("o1"), "ops") is None
        flushed = batcher.add_message(pr("o2"), "ops")
        assert flushed is not None and flushed.metadata["message_ids"] == ["o1", "o2"]
        batcher.add_message(pr("d1"), "dev")
        batcher.add_message(pr("d2"), "dev")
        assert batcher.add_message(pr("d3"), "dev") is None  # the default size, 5
        batcher.add_message(pr("o3"), "ops")
        clock.advance(60)
        assert list(batcher.flush_expired_batches()) == ["ops"]  # dev waits its 5 minutes
        clock.advance(240)
        assert list(batcher.flush_expired_batches()) == ["dev"]

    def test_config_for_returns_the_override_and_none_removes_it(
        self, make_batcher: MakeBatcher
    ) -> None:
        default = BatchConfig(max_batch_size=4)
        batcher = make_batcher(default)
        override = BatchConfig(max_batch_size=2)
        batcher.configure_channel("ops", override)
        assert batcher.config_for("ops") is override
        assert batcher.config_for("dev") is default
        batcher.configure_channel("ops", None)
        assert batcher.config_for("ops") is default

    def test_a_channel_threshold_of_zero_puts_unrelated_messages_together(
        self, make_batcher: MakeBatcher
    ) -> None:
        batcher = make_batcher()
        batcher.configure_channel("all", BatchConfig(similarity_threshold=0.0))
        for channel in ("all", "dev"):
            batcher.add_message(pr(f"{channel}-1", repo="acme/api", author="alice"), channel)
            batcher.add_message(alert(f"{channel}-2"), channel)
        channels = batcher.inspect_pending_batches()["channels"]
        assert (channels["all"]["batch_count"], channels["dev"]["batch_count"]) == (1, 2)

    def test_items_per_page_is_honoured_per_channel(self, make_batcher: MakeBatcher) -> None:
        batcher = make_batcher(BatchConfig(max_batch_size=50))
        batcher.configure_channel("ops", BatchConfig(max_batch_size=50, items_per_page=2))
        for channel in ("ops", "dev"):
            for i in range(5):
                batcher.add_message(pr(f"{channel}-{i}", number=i), channel)
        flushed = batcher.flush_all_batches()
        assert [len(flushed["ops"][0].pages), len(flushed["dev"][0].pages)] == [3, 1]

    def test_an_invalid_channel_config_is_refused_and_nothing_changes(
        self, make_batcher: MakeBatcher
    ) -> None:
        batcher = make_batcher()
        with pytest.raises(ConfigError, match="max_batch_size"):
            batcher.configure_channel("ops", BatchConfig(max_batch_size=0))
        assert batcher.config_for("ops") is batcher.config


class TestResults:
    def test_add_says_why_the_batch_flushed_with_an_enum(self, make_batcher: MakeBatcher) -> None:
        batcher = make_batcher(BatchConfig(max_batch_size=2))
        first = batcher.add(pr("p1"), "C1")
        assert (first.flushed, first.flush_reason, first.duplicate) == (None, None, False)
        assert batcher.add(pr("p1"), "C1").duplicate
        second = batcher.add(pr("p2"), "C1")
        assert second.flush_reason is FlushReason.SIZE and second.batch_id == first.batch_id
        assert batcher.add(alert("a1", priority="critical"), "C1").flush_reason is (
            FlushReason.URGENT
        )
        assert batcher.get_batch_stats()["flush_reasons"] == {"size": 1, "urgent": 1}


class TestOutboxObject:
    def test_subscribe_returns_the_backlog_then_calls_the_listener_once_per_entry(
        self, make_batcher: MakeBatcher
    ) -> None:
        batcher = make_batcher(BatchConfig(max_batch_size=1), auto_ack=False)
        batcher.add_message(pr("early"), "C1")
        seen: list[OutboxEntry] = []
        backlog = batcher.outbox.subscribe(seen.append)
        batcher.add_message(pr("late"), "C1")
        assert [e.messages[0].id for e in backlog] == ["early"]
        assert [e.messages[0].id for e in seen] == ["late"]
        assert batcher.outbox.size() == 2
        assert batcher.outbox.ack(backlog[0].id) and batcher.outbox.size() == 1
        letter = batcher.outbox.dead_letter(seen[0].id, "channel_not_found", "channel_not_found")
        assert letter is not None and batcher.outbox.size() == 0
        assert [d.id for d in batcher.dead_letters()] == [letter.id]


class TestDeadlines:
    def test_a_sliding_window_batch_is_flushed_once_when_both_its_due_times_have_passed(
        self, make_batcher: MakeBatcher, clock: ManualClock
    ) -> None:
        batcher = make_batcher(BatchConfig(window="sliding", max_batch_size=100))
        batcher.add_message(pr("a"), "C1")
        clock.advance(120)
        batcher.add_message(pr("b"), "C1")  # the due time moves from +300 s to +420 s
        clock.advance(600)
        flushed = batcher.flush_expired_batches()["C1"]
        assert [m.metadata["message_ids"] for m in flushed] == [["a", "b"]]
        assert batcher.get_batch_stats()["batches_sent"] == 1


class TestReconfiguringAChannelWithOpenBatches:
    def test_open_batches_keep_their_messages_and_due_time_and_follow_the_new_rules(
        self, make_batcher: MakeBatcher, clock: ManualClock
    ) -> None:
        batcher = make_batcher(BatchConfig(max_batch_size=100))
        batcher.add_message(pr("a1", author="alice"), "C1")
        batcher.add_message(pr("b1", author="bob"), "C1")  # same repo: same batch
        [before] = batcher.inspect_pending_batches("C1")["channels"]["C1"]["batches"]
        by_author = BatchConfig(max_batch_size=100, strategies=[BatchStrategy.AUTHOR_BASED])
        batcher.configure_channel("C1", by_author)
        clock.advance(60)
        # The open batch is alice's partition now (its first message); bob opens his own.
        assert batcher.add(pr("a2", author="alice"), "C1").batch_id == before["id"]
        assert batcher.add(pr("b2", author="bob"), "C1").batch_id != before["id"]
        clock.advance(240)  # the first batch's original due time
        [flushed] = batcher.flush_expired_batches()["C1"]
        assert flushed.metadata["message_ids"] == ["a1", "b1", "a2"]
        assert batcher.inspect_pending_batches("C1")["total_messages"] == 1


class TestOutboxHandOver:
    def test_side_path_flushes_are_handed_to_the_next_flush_call_once(
        self, make_batcher: MakeBatcher
    ) -> None:
        batcher = make_batcher(BatchConfig(max_channels=1))
        batcher.add_message(pr("a"), "C1")
        batcher.add_message(pr("b"), "C2")  # C1 overflows into the outbox
        assert batcher.outbox.size() == 1
        handed = batcher.flush_channel_batches("C1")
        assert [m.metadata["message_ids"] for m in handed] == [["a"]]
        assert batcher.outbox.size() == 0 and batcher.flush_channel_batches("C1") == []


class TestCounters:
    def test_received_batched_duplicates_and_errors_add_up_after_a_store_failure(
        self, tmp_path: Path
    ) -> None:
        class FailingSecondOpen(SQLiteStore):
            opened = 0

            def record_open(self, batch: BatchGroup, message: BatchableMessage) -> None:
                FailingSecondOpen.opened += 1
                if FailingSecondOpen.opened == 2:
                    raise StoreError("disk full")
                super().record_open(batch, message)

        store = FailingSecondOpen(tmp_path / "s.db")
        batcher = MessageBatcher(BatchConfig(max_batch_size=50), clock=ManualClock(), store=store)
        batcher.add_message(pr("a"), "C1")
        with pytest.raises(StoreError):
            batcher.add_message(pr("b"), "C2")  # nothing stored, nothing pending
        batcher.add_message(pr("a"), "C1")  # a duplicate
        batcher.add_message(pr("c"), "C1")
        stats = batcher.get_batch_stats()
        assert (stats["messages_received"], stats["messages_batched"]) == (4, 2)
        assert (stats["duplicates"], stats["errors"], stats["messages_pending"]) == (1, 1, 2)
        check = batcher.get_health_status()["checks"]["error_rate"]
        assert check["message"] == "1 errors in the last 3 operations"
        channel = batcher.get_channel_stats("C1")
        assert channel is not None
        assert (channel.messages_batched, channel.batches_created) == (2, 1)
        assert (channel.pending_message_count, channel.duplicates) == (2, 1)
        assert batcher.get_channel_stats("C2") is None
        store.close()

    def test_the_error_window_forgets_errors_after_a_thousand_operations(self) -> None:
        batcher = MessageBatcher(BatchConfig(max_batch_size=5), clock=ManualClock())
        batcher.recorder.error()  # a failed operation, then 1,000 successful ones
        for n in range(1000):
            batcher.add_message(pr(f"m{n}"), "C1")
        check = batcher.get_health_status()["checks"]["error_rate"]
        assert check["message"] == "0 errors in the last 1000 operations"
        assert batcher.get_batch_stats()["errors"] == 1

    def test_a_channel_keeps_its_figures_once_it_has_nothing_pending(self) -> None:
        clock = ManualClock()
        batcher = MessageBatcher(BatchConfig(max_batch_size=2), clock=clock)
        batcher.add_message(pr("a"), "C1")
        clock.advance(5)
        batcher.add_message(pr("b"), "C1")  # full: flushed, the channel has nothing pending
        batcher.add_message(pr("c", repo="acme/web"), "C2")
        channel = batcher.get_channel_stats("C1")
        assert channel is not None and channel.last_activity == clock.now()
        assert (channel.messages_batched, channel.batches_created, channel.batches_sent) == (
            2,
            1,
            1,
        )
        by_channel = batcher.get_batch_stats()["by_channel"]
        assert by_channel["C1"]["messages_batched"] == 2
        assert by_channel["C2"] == {
            "batches_created": 1,
            "batches_sent": 0,
            "messages_batched": 1,
            "pending_batches": 1,
            "pending_messages": 1,
        }


def test_a_channel_id_given_as_a_str_subclass_is_the_same_channel() -> None:
    class Channel(StrEnum):
        OPS = "ops"

    batcher = MessageBatcher(BatchConfig(max_batch_size=50), clock=ManualClock())
    first = batcher.add(pr("a"), "ops")
    second = batcher.add(pr("b"), Channel.OPS)
    assert second.batch_id == first.batch_id
    assert batcher.inspect_pending_batches()["total_messages"] == 2
