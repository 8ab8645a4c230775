"""BatchConfig: the seed's defaults, validation naming each key, and the dict round trip."""

from __future__ import annotations

from typing import Any

import pytest

from slack_batcher import BatchConfig, BatchStrategy, ConfigError


def test_defaults_are_the_seeds() -> None:
    config = BatchConfig()
    assert (config.max_batch_size, config.max_batch_age_minutes) == (5, 5)
    assert config.similarity_threshold == 0.7
    assert config.strategies == [BatchStrategy.TIME_BASED, BatchStrategy.CONTENT_SIMILARITY]
    assert (config.max_channels, config.items_per_page) == (100, 5)
    assert config.enabled and config.enable_pagination and config.enable_threading
    assert config.is_valid()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_batch_size", 0),
        ("max_batch_size", -3),
        ("max_batch_size", 2.5),
        ("max_batch_age_minutes", 0),
        ("similarity_threshold", -0.1),
        ("similarity_threshold", 1.01),
        ("items_per_page", 0),
        ("max_channels", 0),
        ("strategies", []),
        ("strategies", ["time_based"]),
        ("urgent_priorities", ["panic"]),
        ("enabled", "yes"),
        ("memory_budget_bytes", 10),
    ],
)
def test_each_out_of_range_value_is_reported_with_its_key(field: str, value: Any) -> None:
    config = BatchConfig(**{field: value})
    problems = config.validate()
    assert not config.is_valid()
    assert any(p.startswith(f"{field}:") for p in problems), problems


def test_the_dict_round_trip_keeps_every_field() -> None:
    config = BatchConfig(
        max_batch_size=9,
        strategies=[BatchStrategy.AUTHOR_BASED, BatchStrategy.CONTENT_SIMILARITY],
        urgent_priorities=["critical", "high"],
        memory_budget_bytes=1 << 20,
    )
    raw = config.to_dict()
    assert raw["strategies"] == ["author_based", "content_similarity"]
    assert BatchConfig.from_dict(raw) == config


def test_from_dict_names_unknown_keys_and_bad_strategies_together() -> None:
    with pytest.raises(ConfigError) as caught:
        BatchConfig.from_dict({"max_batch_sise": 3, "strategies": ["fastest"]})
    problems = caught.value.problems
    assert "max_batch_sise: unknown setting" in problems
    assert any(p.startswith("strategies: unknown strategy 'fastest'") for p in problems)


def test_from_dict_accepts_strategy_names_in_any_case() -> None:
    config = BatchConfig.from_dict({"strategies": ["TIME_BASED", "Mixed"]})
    assert config.strategies == [BatchStrategy.TIME_BASED, BatchStrategy.MIXED]
