"""ServiceConfig: the runtime's knobs (pacing, retries, threads, shutdown, health)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..delivery.pacing import PacingPolicy
from ..delivery.retry import RetryPolicy
from ..model.errors import ConfigError

__all__ = ["ServiceConfig"]


@dataclass
class ServiceConfig:
    """How :class:`~slack_batcher.runtime.BatchingService` delivers. Times are in seconds.

    Pacing: ``channel_posts_per_second`` sustained per channel with bursts of
    ``channel_burst``; ``workspace_posts_per_minute`` across all channels with bursts of
    ``workspace_burst``; ``pacing=False`` turns both off (Slack's Retry-After still applies).

    Retries: transient errors back off from ``retry_base_seconds`` doubling up to
    ``retry_max_delay_seconds`` (``retry_jitter`` of it random), for at most
    ``retry_give_up_after_seconds`` of failing before the entry is dead-lettered.

    Threads: ``enable_threading`` (None: the batcher config's) posts continuation pages as
    replies to page 1; ``thread_related`` also threads later batches about the same PR,
    ticket or alert under the first post about it, for ``thread_ttl_seconds``.

    Shutdown drains the outbox for at most ``shutdown_timeout_seconds``; then no post is
    started, and posts already in flight get ``shutdown_post_grace_seconds`` for Slack's
    answer (keep it above the sender's HTTP timeout, 10 s by default). While delivery is
    paused by an auth error, a post is retried every ``auth_probe_interval_seconds``.
    ``max_concurrent_posts`` bounds posts in flight. Health: an undelivered post more than
    ``stuck_outbox_seconds`` past its due time is stuck; more than
    ``error_rate_threshold`` failed attempts among the recent ones degrades health.
    ``close_sender`` closes the sender when the service closes. Live digests: with
    ``digest_reply_interval_seconds`` each takes news at most once per interval (a critical
    item at once; 0, the default: as each flush is due), in one reply of what changed;
    with ``digest_call_budget`` (the default) a digest's parent is edited only while its
    Slack calls stay within its events, and once more when its key goes quiet (a catch-up
    edit: the parent ends stating the true count). Flushes of one digest queued behind the
    pace always join it in one edit.
    ``group_commit`` lets the submits of one event-loop turn share one store commit
    (SQLite), committed before any of them returns.
    """

    channel_posts_per_second: float = 1.0
    channel_burst: int = 3
    workspace_posts_per_minute: float = 300.0
    workspace_burst: int = 30
    pacing: bool = True
    retry_base_seconds: float = 1.0
    retry_max_delay_seconds: float = 300.0
    retry_jitter: float = 0.5
    retry_give_up_after_seconds: float = 6 * 3600.0
    enable_threading: bool | None = None
    thread_related: bool = True
    thread_ttl_seconds: float = 24 * 3600.0
    shutdown_timeout_seconds: float = 30.0
    shutdown_post_grace_seconds: float = 15.0
    group_commit: bool = True
    auth_probe_interval_seconds: float = 60.0
    max_concurrent_posts: int = 50
    digest_reply_interval_seconds: float = 0.0
    digest_call_budget: bool = True
    stuck_outbox_seconds: float = 900.0
    error_rate_threshold: float = 0.25
    close_sender: bool = True

    def pacing_policy(self) -> PacingPolicy:
        """Return the pacing limits as a :class:`PacingPolicy`."""
        return PacingPolicy(
            channel_rate=self.channel_posts_per_second,
            channel_burst=self.channel_burst,
            workspace_rate=self.workspace_posts_per_minute / 60.0,
            workspace_burst=self.workspace_burst,
            enabled=self.pacing,
        )

    def retry_policy(self) -> RetryPolicy:
        """Return the retry settings as a :class:`RetryPolicy`."""
        return RetryPolicy(
            base_delay=self.retry_base_seconds,
            max_delay=self.retry_max_delay_seconds,
            jitter=self.retry_jitter,
            give_up_after=self.retry_give_up_after_seconds,
        )

    def validate(self) -> list[str]:
        """Return every problem, each naming its setting; empty when valid."""
        problems: list[str] = []
        for name in (
            "channel_posts_per_second",
            "workspace_posts_per_minute",
            "thread_ttl_seconds",
            "auth_probe_interval_seconds",
            "stuck_outbox_seconds",
        ):
            value = getattr(self, name)
            if not _is_number(value) or value <= 0:
                problems.append(f"{name}: must be a positive number, got {value!r}")
        for name in ("channel_burst", "workspace_burst", "max_concurrent_posts"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                problems.append(f"{name}: must be a whole number of at least 1, got {value!r}")
        for name in (
            "retry_base_seconds",
            "retry_max_delay_seconds",
            "retry_give_up_after_seconds",
            "shutdown_timeout_seconds",
            "shutdown_post_grace_seconds",
            "digest_reply_interval_seconds",
        ):
            value = getattr(self, name)
            if not _is_number(value) or value < 0:
                problems.append(f"{name}: must be zero or more seconds, got {value!r}")
        for name in ("retry_jitter", "error_rate_threshold"):
            value = getattr(self, name)
            if not _is_number(value) or not 0 <= value <= 1:
                problems.append(f"{name}: must be between 0 and 1, got {value!r}")
        for name in (
            "pacing",
            "thread_related",
            "close_sender",
            "enable_threading",
            "group_commit",
            "digest_call_budget",
        ):
            value = getattr(self, name)
            if not isinstance(value, bool) and not (name == "enable_threading" and value is None):
                problems.append(f"{name}: must be true or false, got {value!r}")
        return problems

    def ensure_valid(self) -> None:
        """Raise :class:`~slack_batcher.model.errors.ConfigError` listing every problem."""
        problems = self.validate()
        if problems:
            raise ConfigError(problems)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ServiceConfig:
        """Build and validate a config; unknown keys raise ConfigError naming them."""
        known = {f.name for f in dataclasses.fields(cls)}
        problems = [f"{key}: unknown setting" for key in raw if key not in known]
        config = cls(**{key: value for key, value in raw.items() if key in known})
        problems.extend(config.validate())
        if problems:
            raise ConfigError(problems)
        return config


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value
