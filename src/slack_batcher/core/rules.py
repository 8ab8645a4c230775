"""ChannelRules: the batching rules of one channel, derived once from its BatchConfig.

The batcher holds one for its own config and one per channel configured with
:meth:`~slack_batcher.core.batcher.MessageBatcher.configure_channel`; the hot path reads these
fields instead of recomputing them from the config per message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ..model.config import BatchConfig
from .grouping import GroupingPolicy

__all__ = ["ChannelRules"]


@dataclass(frozen=True, slots=True)
class ChannelRules:
    """The batching rules of one channel (see the module docstring)."""

    config: BatchConfig
    policy: GroupingPolicy
    window: timedelta
    max_batch_size: int
    urgent: frozenset[str]
    #: ``flush_leading``: the first message of a quiet channel-and-digest-key flushes at once.
    leading: bool = False
    #: ``window="sliding"``: each message moves the due time, up to this after the opening.
    sliding_cap: timedelta | None = None
    #: The batcher's ``enabled`` (a channel's config does not change it): False, every
    #: message flushes alone.
    enabled: bool = True

    @classmethod
    def of(cls, config: BatchConfig, *, enabled: bool | None = None) -> ChannelRules:
        """Return the rules *config* gives (validated already); *enabled*: the batcher's."""
        cap = None
        if config.window == "sliding":
            minutes = config.max_wait_minutes
            cap = timedelta(minutes=minutes) if minutes is not None else 3 * config.max_batch_age
        return cls(
            config=config,
            policy=GroupingPolicy(config.strategies, config.similarity_threshold),
            window=config.max_batch_age,
            max_batch_size=config.max_batch_size,
            urgent=frozenset(config.urgent_priorities),
            leading=config.flush_leading,
            sliding_cap=cap,
            enabled=config.enabled if enabled is None else enabled,
        )
