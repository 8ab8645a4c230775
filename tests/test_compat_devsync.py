"""DevSync code that switches its import to ``slack_batcher.compat.devsync`` keeps working.

The behaviours DevSync's own tests check (configuration, batch groups, the batcher's
return shapes and statistics), written here against the compat module; the batching and
rendering underneath are the main API's. ``benchmarks/devsync_tests.py`` runs DevSync's
tests themselves, when the original is at hand.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

import slack_batcher
from slack_batcher import ConfigError, ManualClock, SlackMessageFormatterFactory
from slack_batcher.compat import devsync
from slack_batcher.compat.devsync import (
    BatchableMessage,
    BatchConfig,
    BatchGroup,
    BatchStrategy,
    BatchType,
    ChannelStats,
    ContentType,
    MessageBatcher,
)


def pr(id: str, author: str = "alice", **data: object) -> BatchableMessage:
    return BatchableMessage(id, ContentType.PR_UPDATE, datetime.now(), author, data=dict(data))


def jira(id: str, author: str = "bob", **data: object) -> BatchableMessage:
    return BatchableMessage(
        id=id, content_type=ContentType.JIRA_UPDATE, timestamp=datetime.now(), author=author,
        data=dict(data),
    )  # fmt: skip


class TestTheModuleOffersDevSyncsNames:
    def test_every_public_name_of_devsyncs_module_is_there(self) -> None:
        for name in (
            "BatchType", "BatchStrategy", "ContentType", "BatchableMessage", "BatchGroup",
            "BatchFormatterContext", "ChannelStats", "BatchConfig", "MessageBatcher",
            "SlackMessage", "MessageType", "default_message_batcher",
        ):  # fmt: skip
            assert hasattr(devsync, name), name
        assert isinstance(devsync.default_message_batcher, MessageBatcher)

    def test_its_types_are_the_main_apis_so_they_can_be_handed_over(self) -> None:
        assert issubclass(BatchableMessage, slack_batcher.BatchableMessage)
        assert issubclass(BatchGroup, slack_batcher.BatchGroup)
        assert issubclass(BatchConfig, slack_batcher.BatchConfig)
        assert issubclass(ChannelStats, slack_batcher.ChannelStats)


class TestBatchConfig:
    def test_the_defaults_are_devsyncs_and_valid(self) -> None:
        config = BatchConfig()
        assert (config.enabled, config.max_batch_size, config.max_batch_age_minutes) == (
            True, 5, 5,
        )  # fmt: skip
        assert config.similarity_threshold == 0.7
        assert config.strategies == [BatchStrategy.TIME_BASED, BatchStrategy.CONTENT_SIMILARITY]
        assert (config.max_channels, config.cleanup_interval_minutes) == (100, 60)
        assert config.health_check_interval_minutes == 5
        assert config.enable_formatter_integration and config.fallback_formatting
        assert config.enable_analytics
        assert config.validate() == [] and config.is_valid()

    @pytest.mark.parametrize(
        "name",
        [
            "max_batch_size",
            "max_batch_age_minutes",
            "items_per_page",
            "max_channels",
            "cleanup_interval_minutes",
            "health_check_interval_minutes",
        ],
    )
    def test_a_value_that_is_not_positive_is_named(self, name: str) -> None:
        config = BatchConfig(**{name: 0})
        assert f"{name} must be positive" in config.validate()
        assert not config.is_valid()

    @pytest.mark.parametrize(
        ("name", "value", "limit"),
        [
            ("max_batch_size", 51, 50),
            ("max_batch_age_minutes", 61, 60),
            ("items_per_page", 21, 20),
            ("max_channels", 1001, 1000),
        ],
    )
    def test_devsyncs_upper_limits_are_reported(self, name: str, value: int, limit: int) -> None:
        assert BatchConfig(**{name: value}).validate() == [f"{name} should not exceed {limit}"]
        assert BatchConfig(**{name: limit}).is_valid()

    @pytest.mark.parametrize("threshold", [-0.1, 1.1])
    def test_the_similarity_threshold_must_be_a_share(self, threshold: float) -> None:
        problems = BatchConfig(similarity_threshold=threshold).validate()
        assert problems == ["similarity_threshold must be between 0.0 and 1.0"]

    def test_no_strategy_is_a_problem(self) -> None:
        assert BatchConfig(strategies=[]).validate() == [
            "at least one batching strategy must be enabled"
        ]

    def test_a_bad_config_is_built_and_its_problems_logged(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.WARNING, logger="slack_batcher.compat.devsync.config"):
            config = BatchConfig(max_batch_size=-1)
        assert "max_batch_size must be positive" in caplog.text
        assert not config.is_valid()

    def test_the_dict_round_trip_keeps_every_field(self) -> None:
        config = BatchConfig(
            max_batch_size=7,
            similarity_threshold=0.9,
            strategies=[BatchStrategy.CONTENT_SIMILARITY],
            enable_formatter_integration=False,
            max_channels=25,
        )
        raw = config.to_dict()
        assert raw["strategies"] == ["content_similarity"]
        assert BatchConfig.from_dict(raw) == config

    def test_from_dict_drops_unknown_strategies_and_keys(self) -> None:
        config = BatchConfig.from_dict(
            {"strategies": ["time_based", "no_such_thing", "CONTENT_SIMILARITY"], "colour": 3}
        )
        assert config.strategies == [BatchStrategy.TIME_BASED, BatchStrategy.CONTENT_SIMILARITY]

    def test_from_dict_with_no_strategy_left_batches_by_time(self) -> None:
        assert BatchConfig.from_dict({"strategies": []}).strategies == [BatchStrategy.TIME_BASED]
        assert BatchConfig.from_dict({"strategies": ["x"]}).strategies == [BatchStrategy.TIME_BASED]

    def test_the_presets(self) -> None:
        assert BatchConfig.create_default() == BatchConfig()
        minimal = BatchConfig.create_minimal()
        assert (minimal.max_batch_size, minimal.max_batch_age_minutes) == (3, 2)
        assert minimal.max_channels == 10
        assert not minimal.enable_formatter_integration and not minimal.enable_analytics
        assert minimal.is_valid()

    def test_a_batcher_runs_a_config_past_devsyncs_advice_but_not_one_it_cannot_run(
        self,
    ) -> None:
        MessageBatcher(BatchConfig(max_batch_size=60))  # a warning in DevSync, not an error
        with pytest.raises(ConfigError, match="max_batch_size"):
            MessageBatcher(BatchConfig(max_batch_size=0))


class TestBatchGroup:
    def test_it_is_built_from_id_channel_and_type_alone(self) -> None:
        before = datetime.now()
        group = BatchGroup(id="b1", channel_id="C1", batch_type=BatchType.PR_ACTIVITY)
        assert group.messages == [] and group.expires_at is None and group.metadata == {}
        assert before <= group.created_at <= datetime.now()  # naive local, as in DevSync
        assert before <= group.last_activity <= datetime.now()  # type: ignore[operator]

    def test_the_main_apis_batch_group_takes_the_seeds_defaults_too(self) -> None:
        before = datetime.now(UTC)
        group = slack_batcher.BatchGroup(id="b", channel_id="C1", batch_type=BatchType.CUSTOM)
        assert before <= group.created_at <= datetime.now(UTC)
        assert group.expires_at is None
        assert group.due_at == group.created_at
        assert group.to_dict()["expires_at"] == group.created_at.isoformat()

    def test_adding_a_message_moves_last_activity_and_expiry(self) -> None:
        earlier = datetime.now() - timedelta(minutes=1)
        group = BatchGroup("b1", "C1", BatchType.JIRA_ACTIVITY, last_activity=earlier)
        message = jira("j1")
        group.add_message(message)
        assert group.last_activity is not None and group.last_activity > earlier
        assert group.expires_at is not None
        expected = message.timestamp.astimezone().replace(tzinfo=None) + timedelta(minutes=5)
        assert group.expires_at == expected

    def test_it_is_due_at_its_size(self) -> None:
        group = BatchGroup("b1", "C1", BatchType.ALERT_DIGEST)
        for n in range(4):
            group.add_message(pr(f"m{n}"))
        assert not group.should_flush()
        assert group.should_flush(max_size=4)
        group.add_message(pr("m4"))
        assert group.should_flush()

    def test_it_is_due_by_age(self) -> None:
        created = datetime.now() - timedelta(minutes=6)
        group = BatchGroup("b1", "C1", BatchType.TEAM_ACTIVITY, created_at=created)
        group.add_message(pr("m1"))
        assert group.should_flush()
        assert not group.should_flush(max_age_minutes=10)

    def test_it_is_due_past_its_expiry(self) -> None:
        group = BatchGroup(
            "b1", "C1", BatchType.WEEKLY_CHANGELOG, expires_at=datetime.now() - timedelta(1)
        )
        assert group.should_flush()
        group.expires_at = datetime.now() + timedelta(minutes=5)
        assert not group.should_flush()

    def test_aware_times_work_as_well_as_naive_ones(self) -> None:
        created = datetime.now(UTC) - timedelta(minutes=1)
        group = BatchGroup("b1", "C1", BatchType.PR_ACTIVITY, created_at=created)
        group.add_message(pr("m1"))
        assert group.expires_at is not None and group.expires_at.tzinfo is not None
        assert not group.should_flush()
        assert group.should_flush(now=created + timedelta(minutes=5))

    def test_its_summary_counts_types_authors_and_priorities(self) -> None:
        group = BatchGroup("b1", "dev-team", BatchType.SPRINT_UPDATE)
        for message in (pr("m1"), jira("m2", author="bob"), pr("m3")):
            group.add_message(message)
        stats = group.get_summary_stats()
        assert stats["total_count"] == 3
        assert stats["content_types"] == {"pr_update": 2, "jira_update": 1}
        assert sorted(stats["authors"]) == ["alice", "bob"]
        assert stats["priority_counts"] == {"medium": 3}
        assert stats["time_range"]["start"] == group.messages[0].timestamp
        assert group.batch_type is BatchType.SPRINT_UPDATE  # the type it was given stays


@pytest.fixture
def berlin() -> Iterator[None]:
    """Run in a local time zone that is not UTC."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "Europe/Berlin")
        time.tzset()
        try:
            yield
        finally:
            patch.undo()
            time.tzset()


def test_a_naive_timestamp_is_read_as_local_time_as_devsync_wrote_it(berlin: None) -> None:
    noon = datetime(2026, 7, 1, 12, 0)  # naive: 12:00 in Berlin, 10:00 UTC
    message = BatchableMessage("m1", ContentType.ALERT, noon)
    assert message.timestamp == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    assert slack_batcher.BatchableMessage("m1", ContentType.ALERT, noon).timestamp.hour == 12


class TestMessageBatcher:
    def test_a_full_batch_comes_back_from_add_message(self) -> None:
        batcher = MessageBatcher(BatchConfig(max_batch_size=3))
        assert batcher.add_message(pr("m1", number=101, title="Fix auth")) is None
        assert batcher.add_message(pr("m2", number=102, title="Docs")) is None
        ready = batcher.add_message(pr("m3", "bob", number=103, title="Tests"))
        assert ready is not None and "Fix auth" in ready.text
        assert ready.metadata["batch_type"] == "pr_activity"
        assert ready.metadata["message_count"] == 3
        assert ready.metadata["is_batched"] is True

    def test_the_flush_methods_return_lists(self) -> None:
        clock = ManualClock()
        batcher = MessageBatcher(clock=clock)
        batcher.add_message(pr("m1", repository="main-app"), "C1")
        batcher.add_message(jira("j1", project="OTHER"), "C2")
        batcher.add_message(jira("j2", project="OTHER"), "C3")
        assert batcher.flush_expired_batches() == []
        clock.advance(timedelta(minutes=5))
        expired = batcher.flush_expired_batches()
        assert isinstance(expired, list) and len(expired) == 3
        batcher.add_message(pr("m2"), "C1")
        batcher.add_message(pr("m3"), "C2")
        assert [m.channel for m in batcher.flush_channel_batches("C1")] == ["C1"]
        everything = batcher.flush_all_batches()
        assert isinstance(everything, list) and [m.channel for m in everything] == ["C2"]

    def test_similar_messages_share_a_batch_and_others_do_not(self) -> None:
        batcher = MessageBatcher(BatchConfig(strategies=[BatchStrategy.CONTENT_SIMILARITY]))
        batcher.add_message(pr("s1", repository="main-app"))
        batcher.add_message(pr("s2", repository="main-app"))
        batcher.add_message(jira("d1", project="different-project"))
        stats = batcher.get_batch_stats()
        assert (stats["active_batches"], stats["pending_messages"]) == (2, 3)
        counts = sorted(m.metadata["message_count"] for m in batcher.flush_all_batches())
        assert counts == [1, 2]

    def test_the_statistics_have_devsyncs_keys_and_follow_the_pending_set(self) -> None:
        batcher = MessageBatcher()
        stats = batcher.get_batch_stats()
        assert (stats["active_batches"], stats["pending_messages"]) == (0, 0)
        assert stats["channels_active"] == 0 and stats["last_activity"] is None
        batcher.add_message(pr("m1"), "channel1")
        batcher.add_message(jira("m2"), "channel2")
        stats = batcher.get_batch_stats()
        assert (stats["active_batches"], stats["pending_messages"]) == (2, 2)
        assert (stats["messages_batched"], stats["batches_created"]) == (2, 2)
        assert stats["channels_active"] == 2
        assert stats["batches_by_channel"] == {"channel1": 1, "channel2": 1}
        assert len(batcher.flush_channel_batches("channel1")) == 1
        stats = batcher.get_batch_stats()
        assert (stats["active_batches"], stats["pending_messages"]) == (1, 1)
        assert (stats["batches_flushed"], stats["channels_active"]) == (1, 1)
        assert isinstance(stats["system_start_time"], datetime)
        assert stats["system_start_time"].tzinfo is None  # naive local, as DevSync's
        for key in ("similarity_matches", "peak_concurrent_batches", "memory_usage_mb"):
            assert key in stats
        assert stats["batches_pending"] == 1  # the main API's keys are there too

    def test_channel_stats_are_devsyncs(self) -> None:
        batcher = MessageBatcher(BatchConfig(max_batch_size=2))
        assert batcher.get_channel_stats("C1") is None
        batcher.add_message(pr("m1"), "C1")
        batcher.add_message(pr("m2"), "C1")
        batcher.add_message(pr("m3"), "C1")
        stats = batcher.get_channel_stats("C1")
        assert isinstance(stats, ChannelStats)
        assert (stats.batches_created, stats.batches_sent, stats.messages_batched) == (2, 1, 3)
        assert (stats.active_batch_count, stats.pending_message_count) == (1, 1)
        assert stats.last_activity is not None and stats.last_activity.tzinfo is None
        metrics = stats.get_efficiency_metrics()
        assert metrics["batch_completion_rate"] == 0.5
        assert metrics["messages_per_batch"] == 1.5
        assert metrics["batching_efficiency"] == 0.25
        assert set(batcher.get_all_channel_stats()) == {"C1"}

    def test_disabled_batching_hands_each_message_back_at_once(self) -> None:
        batcher = MessageBatcher(BatchConfig(enabled=False))
        ready = batcher.add_message(pr("m1", title="Alone"))
        assert ready is not None and ready.metadata["message_ids"] == ["m1"]

    def test_our_formatter_factory_is_used_and_a_foreign_one_kept_aside(self) -> None:
        factory = SlackMessageFormatterFactory()
        batcher = MessageBatcher(BatchConfig(max_batch_size=2), factory)
        batcher.add_message(pr("m1", title="One"))
        ready = batcher.add_message(pr("m2", title="Two"))
        assert ready is not None and ready.metadata["formatter"] != "fallback"
        foreign = object()
        assert MessageBatcher(formatter_factory=foreign)._formatter_factory is foreign


class TestChannelStats:
    def test_its_update_methods_keep_devsyncs_running_figures(self) -> None:
        stats = ChannelStats(channel_id="C1")
        stats.update_batch_created()
        stats.update_batch_created()
        stats.update_message_added(4)
        assert (stats.active_batch_count, stats.pending_message_count) == (2, 4)
        stats.update_batch_sent(3, time_to_send_minutes=2.0)
        stats.update_batch_sent(1, time_to_send_minutes=4.0)
        assert (stats.batches_sent, stats.active_batch_count, stats.pending_message_count) == (
            2, 0, 0,
        )  # fmt: skip
        assert stats.average_batch_size == 2.0
        assert stats.average_time_to_send == 3.0
        assert stats.get_efficiency_metrics() == {
            "batch_completion_rate": 1.0,
            "messages_per_batch": 2.0,
            "batching_efficiency": 2.0 / 3.0,
        }

    def test_a_channel_without_batches_has_zero_metrics(self) -> None:
        assert set(ChannelStats(channel_id="C1").get_efficiency_metrics().values()) == {0.0}
