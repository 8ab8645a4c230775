"""Batching configuration: :class:`BatchConfig`, validated, with a dict round trip."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from .errors import ConfigError
from .message import PRIORITY_SCORES, BatchStrategy

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

    Live digests and latency (the last fields; see ``docs/grouping.md``): with
    ``live_digests`` a flush whose digest key has a live digest in the channel goes to its
    thread and the digest post is edited; ``digest_by`` names the data fields of the key
    (None: scope and type; ``[]``: one digest per channel); a digest stays live
    ``digest_window_minutes`` after its last flush, at most ``digest_max_age_minutes``.
    ``flush_leading`` posts the first message of a quiet channel-and-key at once;
    ``window="sliding"`` moves a batch's due time with each message, up to
    ``max_wait_minutes`` after its first. Both are off by default: the seed's windows hold.
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
    #: Post later flushes of a digest key into its live digest's thread (needs a sender that
    #: returns a ``ts`` and can edit, and threading on).
    live_digests: bool = True
    #: Data fields making the digest key (None: scope and type; []: one per channel).
    digest_by: list[str] | None = None
    #: A digest takes flushes this long after its last one.
    digest_window_minutes: float = 30
    #: ... and never longer than this after it was posted.
    digest_max_age_minutes: float = 60
    #: The first message of a channel-and-key quiet for a window is posted at once.
    flush_leading: bool = False
    #: "fixed" (due at open + max_batch_age) or "sliding" (each message moves it, up to
    #: ``max_wait_minutes`` after the batch opened).
    window: str = "fixed"
    #: The cap of a sliding window (None: 3 × max_batch_age_minutes).
    max_wait_minutes: float | None = None

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
        problems.extend(_digest_problems(self))
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


def _digest_problems(config: BatchConfig) -> list[str]:
    problems: list[str] = []
    for name in ("live_digests", "flush_leading"):
        value = getattr(config, name)
        if not isinstance(value, bool):
            problems.append(f"{name}: must be true or false, got {value!r}")
    by = config.digest_by
    if by is not None and (
        not isinstance(by, list | tuple) or not all(isinstance(f, str) and f for f in by)
    ):
        problems.append(f"digest_by: must be a list of data field names, got {by!r}")
    for name in ("digest_window_minutes", "digest_max_age_minutes"):
        value = getattr(config, name)
        if not _is_number(value) or value <= 0:
            problems.append(f"{name}: must be positive, got {value!r}")
    if config.window not in ("fixed", "sliding"):
        problems.append(f"window: must be 'fixed' or 'sliding', got {config.window!r}")
    cap, age = config.max_wait_minutes, config.max_batch_age_minutes
    if cap is not None and (not _is_number(cap) or (_is_number(age) and cap < age)):
        problems.append(
            f"max_wait_minutes: must be empty or at least max_batch_age_minutes "
            f"({config.max_batch_age_minutes}), got {cap!r}"
        )
    return problems


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value
