"""Bad input is rejected at the edge with an error naming the field; nothing is stored."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from slack_batcher import (
    BatchableMessage,
    BatchConfig,
    ContentType,
    InvalidMessageError,
    MessageBatcher,
    MessageTooLargeError,
    Priority,
)
from slack_batcher.model.message import MAX_NESTING
from tests.factories import pr


def build(**overrides: Any) -> BatchableMessage:
    fields: dict[str, Any] = {"id": "gh-1", "content_type": "pr_update", "data": {"title": "x"}}
    fields.update(overrides)
    return BatchableMessage(**fields)


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"id": ""}, "id", "non-empty"),
        ({"id": "   "}, "id", "non-empty"),
        ({"id": 42}, "id", "non-empty string"),
        ({"id": "x" * 256}, "id", "at most 255"),
        ({"content_type": "tweet"}, "content_type", "unknown content type 'tweet'"),
        ({"priority": "urgent"}, "priority", "unknown priority 'urgent'"),
        ({"timestamp": "2026-01-01"}, "timestamp", "expected a datetime"),
        ({"timestamp": 1700000000}, "timestamp", "expected a datetime"),
        ({"data": {"when": datetime(2026, 1, 1)}}, "data", "JSON-serialisable"),
        ({"data": {"ratio": math.nan}}, "data", "JSON-serialisable"),
        ({"data": ["not", "a", "dict"]}, "data", "expected a JSON object"),
        ({"metadata": {"obj": object()}}, "metadata", "JSON-serialisable"),
        ({"author": 7}, "author", "expected a string"),
        (
            {"timestamp": datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5)))},
            "timestamp",
            "out of range in UTC",
        ),
    ],
)
def test_each_bad_field_is_named_in_the_error(
    overrides: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(InvalidMessageError) as caught:
        build(**overrides)
    assert caught.value.field == field
    assert words in str(caught.value)
    assert str(caught.value).startswith(f"{field}:")


def test_a_naive_timestamp_is_taken_as_utc() -> None:
    message = build(timestamp=datetime(2026, 1, 1, 12, 0))
    assert message.timestamp == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_an_aware_timestamp_is_converted_to_utc() -> None:
    paris = timezone(timedelta(hours=1))
    message = build(timestamp=datetime(2026, 1, 1, 13, 0, tzinfo=paris))
    assert message.timestamp == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert message.timestamp.tzinfo is UTC


def test_enums_and_their_string_values_are_both_accepted() -> None:
    message = build(content_type="ALERT", priority=Priority.CRITICAL)
    assert message.content_type is ContentType.ALERT
    assert message.priority == "critical"
    assert message.get_priority_score() == 100


def test_priority_scores_follow_the_seed() -> None:
    scores = [build(priority=p).get_priority_score() for p in Priority]
    assert scores == [100, 75, 50, 25, 10]


def test_the_similarity_key_joins_type_author_and_project() -> None:
    message = build(author="Alice", data={"repository": "Acme/API"})
    assert message.get_similarity_key() == "pr_update:alice:acme/api::"


def test_a_message_round_trips_through_its_dict() -> None:
    message = pr("gh-1", priority="high")
    assert BatchableMessage.from_dict(message.to_dict()) == message


def test_a_message_over_the_configured_size_is_refused_and_not_stored(
    make_batcher: Callable[..., MessageBatcher],
) -> None:
    batcher = make_batcher(BatchConfig(max_message_bytes=1024))
    big = pr("big", body="x" * 2000)
    with pytest.raises(MessageTooLargeError, match=r"'big' is \d+ bytes; the limit is 1024"):
        batcher.add_message(big)
    assert batcher.inspect_pending_batches()["total_messages"] == 0
    assert batcher.get_batch_stats()["rejected"] == 1


@pytest.mark.parametrize("channel", ["", "  ", None, "c" * 256])
def test_a_bad_channel_id_is_refused_and_nothing_is_stored(
    make_batcher: Callable[..., MessageBatcher], channel: Any
) -> None:
    batcher = make_batcher()
    with pytest.raises(InvalidMessageError) as caught:
        batcher.add_message(pr("gh-1"), channel)
    assert caught.value.field == "channel_id"
    assert batcher.get_batch_stats()["messages_pending"] == 0


def test_something_that_is_not_a_message_is_refused(
    make_batcher: Callable[..., MessageBatcher],
) -> None:
    batcher = make_batcher()
    with pytest.raises(InvalidMessageError, match="expected a BatchableMessage, got dict"):
        batcher.add_message({"id": "x"}, "C1")  # type: ignore[arg-type]


def test_the_scope_is_repository_then_project_then_service_then_team() -> None:
    assert build(data={"service": "API", "team": "core"}).get_scope() == "api"
    assert build(data={"project": "ACME", "service": "api"}).get_scope() == "acme"
    assert build(data={"team": "Core"}).get_scope() == "core"
    assert build(data={}).get_scope() == ""


def _nested(levels: int) -> dict[str, object]:
    """A data dict nesting objects *levels* deep, the dict itself included."""
    data: dict[str, object] = {}
    current = data
    for _ in range(levels - 1):
        child: dict[str, object] = {}
        current["a"] = child
        current = child
    return data


class TestUnicodeAndNesting:
    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"data": {"title": "x\ud800"}}, "data.title"),
            ({"data": {"\udfff": 1}}, "data"),
            ({"metadata": {"tags": ["ok", "\ud800"]}}, "metadata.tags[1]"),
            ({"id": "gh-\ud800"}, "id"),
            ({"author": "al\udcffice"}, "author"),
        ],
    )
    def test_a_lone_surrogate_is_refused_naming_where_it_is(
        self, kwargs: dict[str, Any], field: str
    ) -> None:
        with pytest.raises(InvalidMessageError) as raised:
            BatchableMessage(**{"id": "gh-1", "content_type": "alert", **kwargs})
        assert raised.value.field == field

    def test_nesting_up_to_the_limit_is_accepted_and_one_more_level_is_refused(self) -> None:
        BatchableMessage(id="ok", content_type="alert", data=_nested(MAX_NESTING))
        with pytest.raises(InvalidMessageError, match=f"more than {MAX_NESTING} levels"):
            BatchableMessage(id="deep", content_type="alert", data=_nested(MAX_NESTING + 1))
        with pytest.raises(InvalidMessageError, match="levels"):
            BatchableMessage(id="deeper", content_type="alert", data=_nested(5000))

    def test_a_data_dict_that_contains_itself_is_refused(self) -> None:
        data: dict[str, Any] = {"x": 1}
        data["self"] = data
        with pytest.raises(InvalidMessageError) as raised:
            BatchableMessage(id="loop", content_type="alert", data=data)
        assert raised.value.field == "data"

    def test_size_counts_utf8_bytes_of_compact_json(self) -> None:
        message = BatchableMessage(
            id="x", content_type="alert", data={"a": "é", "b": [1, 2.5, None, True]}
        )
        # {"a":"é","b":[1,2.5,null,true]} is 32 bytes; "{}" metadata 2; id 1
        assert message.size_bytes == 35
