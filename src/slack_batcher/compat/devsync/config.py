"""DevSync's ``BatchConfig``: our config with DevSync's checks and lenient dict reading.

It is a :class:`slack_batcher.BatchConfig` (every field, default and core rule holds), so
it can be handed to the main API as it is. What DevSync code expects differs in four ways:

* :meth:`BatchConfig.validate` returns DevSync's sentences ("max_batch_size must be
  positive", "max_batch_size should not exceed 50", …), including its upper bounds, which
  are advice: a config beyond them still runs, as it did in DevSync;
* building a config never raises: the problems are logged as warnings;
* :meth:`BatchConfig.from_dict` is lenient: unknown keys are ignored, unknown strategy
  names dropped, and no strategy left means time-based;
* :meth:`create_default` and :meth:`create_minimal` build DevSync's two presets.

A batcher refuses only what our core cannot run (:meth:`ensure_valid`, core rules).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

from ...model.config import BatchConfig as CoreBatchConfig
from ...model.errors import ConfigError
from ...model.message import BatchStrategy

__all__ = ["BatchConfig"]

logger = logging.getLogger(__name__)

#: field -> DevSync's advisory upper bound ("should not exceed").
_UPPER_BOUNDS = {
    "max_batch_size": 50,
    "max_batch_age_minutes": 60,
    "items_per_page": 20,
    "max_channels": 1000,
}
_POSITIVE = (
    "max_batch_size",
    "max_batch_age_minutes",
    "items_per_page",
    "max_channels",
    "cleanup_interval_minutes",
    "health_check_interval_minutes",
)
#: Fields DevSync's checks cover; the core's own checks report every other field.
_DEVSYNC_CHECKED = {*_POSITIVE, "similarity_threshold", "strategies"}
_STRATEGIES = {strategy.value: strategy for strategy in BatchStrategy}


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


@dataclass
class BatchConfig(CoreBatchConfig):
    """Batching configuration, as DevSync's ``BatchConfig``; see the module docstring."""

    def __post_init__(self) -> None:
        problems = self.validate()
        if problems:
            logger.warning("batch config has problems: %s", "; ".join(problems))

    def validate(self) -> list[str]:
        """Return DevSync's descriptions of every problem; empty when the config is valid."""
        problems: list[str] = []
        for name in _POSITIVE:
            value = getattr(self, name)
            if not _is_number(value):
                problems.append(f"{name} must be a number, got {value!r}")
            elif value <= 0:
                problems.append(f"{name} must be positive")
            elif name in _UPPER_BOUNDS and value > _UPPER_BOUNDS[name]:
                problems.append(f"{name} should not exceed {_UPPER_BOUNDS[name]}")
        threshold = self.similarity_threshold
        if not _is_number(threshold) or not 0.0 <= threshold <= 1.0:
            problems.append("similarity_threshold must be between 0.0 and 1.0")
        strategies = self.strategies
        if not strategies:
            problems.append("at least one batching strategy must be enabled")
        elif not all(isinstance(s, BatchStrategy) for s in strategies):
            problems.append(f"strategies must be BatchStrategy members, got {strategies!r}")
        for problem in CoreBatchConfig.validate(self):
            if problem.split(":", 1)[0] not in _DEVSYNC_CHECKED:
                problems.append(problem)
        return problems

    def ensure_valid(self) -> None:
        """Raise :class:`ConfigError` if our core cannot run this config (its own rules)."""
        problems = CoreBatchConfig.validate(self)
        if problems:
            raise ConfigError(problems)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> BatchConfig:
        """Build a config from a dict, leniently, as DevSync does.

        Unknown keys are ignored and unknown strategy names dropped (both logged); an empty
        strategy list becomes ``[TIME_BASED]``. Values are not checked here: call
        :meth:`validate`.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(str(key) for key in raw if key not in known)
        if unknown:
            logger.warning("batch config: ignoring unknown keys %s", ", ".join(unknown))
        values = {key: value for key, value in raw.items() if key in known}
        if "strategies" in values:
            values["strategies"] = _lenient_strategies(values["strategies"])
        return cls(**values)

    @classmethod
    def create_default(cls) -> BatchConfig:
        """Return DevSync's default preset: every field at its default."""
        return cls()

    @classmethod
    def create_minimal(cls) -> BatchConfig:
        """Return DevSync's minimal preset: small, short batches, no formatter, no analytics."""
        return cls(
            max_batch_size=3,
            max_batch_age_minutes=2,
            max_channels=10,
            enable_formatter_integration=False,
            enable_analytics=False,
        )


def _lenient_strategies(value: object) -> list[BatchStrategy]:
    """Return the known strategies named in *value*; ``[TIME_BASED]`` when none is left."""
    items = [value] if isinstance(value, str | BatchStrategy) else value
    parsed: list[BatchStrategy] = []
    for item in items if isinstance(items, list | tuple) else ():
        found = item if isinstance(item, BatchStrategy) else None
        if found is None and isinstance(item, str):
            found = _STRATEGIES.get(item.strip().lower())
        if found is None:
            logger.warning("batch config: dropping unknown strategy %r", item)
        elif found not in parsed:
            parsed.append(found)
    return parsed or [BatchStrategy.TIME_BASED]
