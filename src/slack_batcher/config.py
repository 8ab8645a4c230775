"""Batching configuration: :class:`BatchConfig`, validated, with a dict round trip."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from .errors import ConfigError
from .models import PRIORITY_SCORES, BatchStrategy

__all__ = ["BatchConfig"]


def _default_strategies() -> list[BatchStrategy]:
    return [BatchStrategy.TIME_BASED, BatchStrategy.CONTENT_SIMILARITY]


@dataclass
class BatchConfig:
    """How messages are batched, flushed and watched.

    The first fifteen fields are the seed's, with its defaults. The rest are knobs the seed
    left implicit: which priorities flush at once, how large one message may be, an optional
    memory budget, when a batch counts as stale, and the thresholds that health checks
    compare against. ``cleanup_interval_minutes`` is how often the runtime dead-letters stale
    batches; ``health_check_interval_minutes`` and ``enable_analytics`` are kept for the
    seed's API and read by nothing yet (stats are always kept; health is computed on demand).
    """

    enabled: bool = True
    max_batch_size: int = 5
    max_batch_age_minutes: float = 5
    similarity_threshold: float = 0.7
    enable_pagination: bool = True
    items_per_page: int = 5
    enable_threading: bool = True
    priority_ordering: bool = True
    strategies: list[BatchStrategy] = field(default_factory=_default_strategies)
    enable_formatter_integration: bool = True
    fallback_formatting: bool = True
    max_channels: int = 100
    cleanup_interval_minutes: float = 60
    health_check_interval_minutes: float = 5
    enable_analytics: bool = True
    #: Priorities whose arrival flushes their batch at once.
    urgent_priorities: list[str] = field(default_factory=lambda: ["critical"])
    #: Largest accepted message (JSON-encoded data + metadata), in bytes.
    max_message_bytes: int = 64 * 1024
    #: Estimated bytes of pending messages past which the oldest batches are flushed; None = off.
    memory_budget_bytes: int | None = None
    #: A batch this far past its due time counts as stuck in health checks.
    stuck_batch_grace_seconds: float = 60
    #: Pending messages past which health reports the queue as too large.
    max_pending_messages: int = 10_000
    #: Share of failed operations past which health degrades.
    error_rate_threshold: float = 0.05
    #: A batch pending this long (it could not be flushed) becomes a dead letter when the
    #: runtime's cleanup runs, every ``cleanup_interval_minutes``.
    stale_batch_hours: float = 24

    @property
    def max_batch_age(self) -> timedelta:
        """The batching window as a timedelta."""
        return timedelta(minutes=self.max_batch_age_minutes)

    def validate(self) -> list[str]:
        """Return every problem with this config, each naming its key; empty when valid."""
        problems: list[str] = []

        def check(ok: bool, message: str) -> None:
            if not ok:
                problems.append(message)

        for name in (
            "enabled",
            "enable_pagination",
            "enable_threading",
            "priority_ordering",
            "enable_formatter_integration",
            "fallback_formatting",
            "enable_analytics",
        ):
            value = getattr(self, name)
            check(isinstance(value, bool), f"{name}: must be true or false, got {value!r}")
        for name in ("max_batch_size", "items_per_page", "max_channels", "max_pending_messages"):
            value = getattr(self, name)
            check(
                _is_int(value) and value >= 1,
                f"{name}: must be a whole number of at least 1, got {value!r}",
            )
        check(
            _is_int(self.max_message_bytes) and self.max_message_bytes >= 256,
            f"max_message_bytes: must be a whole number of at least 256, "
            f"got {self.max_message_bytes!r}",
        )
        for name in (
            "max_batch_age_minutes",
            "stale_batch_hours",
            "cleanup_interval_minutes",
            "health_check_interval_minutes",
        ):
            value = getattr(self, name)
            check(_is_number(value) and value > 0, f"{name}: must be positive, got {value!r}")
        check(
            _is_number(self.stuck_batch_grace_seconds) and self.stuck_batch_grace_seconds >= 0,
            "stuck_batch_grace_seconds: must be zero or more, "
            f"got {self.stuck_batch_grace_seconds!r}",
        )
        for name in ("similarity_threshold", "error_rate_threshold"):
            value = getattr(self, name)
            check(
                _is_number(value) and 0.0 <= value <= 1.0,
                f"{name}: must be between 0 and 1, got {value!r}",
            )
        budget = self.memory_budget_bytes
        check(
            budget is None or (_is_int(budget) and budget >= 1024),
            f"memory_budget_bytes: must be empty or at least 1024, got {budget!r}",
        )
        strategies = self.strategies
        if not isinstance(strategies, list | tuple) or not strategies:
            problems.append("strategies: must list at least one strategy")
        else:
            for item in strategies:
                check(
                    isinstance(item, BatchStrategy),
                    f"strategies: unknown strategy {item!r} "
                    f"(known: {', '.join(s.value for s in BatchStrategy)})",
                )
        urgent = self.urgent_priorities
        if not isinstance(urgent, list | tuple | set | frozenset):
            problems.append(f"urgent_priorities: must be a list, got {urgent!r}")
        else:
            for priority in urgent:
                check(
                    priority in PRIORITY_SCORES,
                    f"urgent_priorities: unknown priority {priority!r} "
                    f"(known: {', '.join(PRIORITY_SCORES)})",
                )
        return problems

    def is_valid(self) -> bool:
        """Return True when :meth:`validate` finds no problem."""
        return not self.validate()

    def ensure_valid(self) -> None:
        """Raise :class:`ConfigError` listing every problem, if there is any."""
        problems = self.validate()
        if problems:
            raise ConfigError(problems)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (strategies as their string values)."""
        raw = dataclasses.asdict(self)
        raw["strategies"] = [
            s.value if isinstance(s, BatchStrategy) else s for s in self.strategies
        ]
        raw["urgent_priorities"] = list(self.urgent_priorities)
        return raw

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> BatchConfig:
        """Build and validate a config from a dict such as :meth:`to_dict` returns.

        Unknown keys, unknown strategy names and out-of-range values raise
        :class:`ConfigError` naming every offending key.
        """
        if not isinstance(raw, dict):
            raise ConfigError([f"config: expected a table of settings, got {type(raw).__name__}"])
        known = {f.name for f in dataclasses.fields(cls)}
        problems = [f"{key}: unknown setting" for key in raw if key not in known]
        values = {key: value for key, value in raw.items() if key in known}
        if "strategies" in values:
            values["strategies"] = _parse_strategies(values["strategies"], problems)
        if "urgent_priorities" in values and isinstance(values["urgent_priorities"], list):
            values["urgent_priorities"] = [
                p.lower() if isinstance(p, str) else p for p in values["urgent_priorities"]
            ]
        config = cls(**values)
        problems.extend(p for p in config.validate() if p not in problems)
        if problems:
            raise ConfigError(problems)
        return config


def _parse_strategies(value: object, problems: list[str]) -> list[BatchStrategy]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        problems.append(f"strategies: must be a list of strategy names, got {value!r}")
        return []
    parsed: list[BatchStrategy] = []
    for item in value:
        try:
            parsed.append(BatchStrategy(item.lower() if isinstance(item, str) else item))
        except ValueError:
            problems.append(
                f"strategies: unknown strategy {item!r} "
                f"(known: {', '.join(s.value for s in BatchStrategy)})"
            )
    return parsed


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value
