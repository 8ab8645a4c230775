"""Health evaluation: named checks, an overall status and insights."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ..model.config import BatchConfig
from ..model.stats import (
    DEGRADED,
    HEALTHY,
    UNHEALTHY,
    ChannelStats,
    GlobalBatchStats,
    HealthCheck,
    overall_status,
)
from ..model.stats import level as threshold_level

__all__ = ["evaluate_health"]


def evaluate_health(
    *,
    config: BatchConfig,
    now: datetime,
    stats: GlobalBatchStats,
    due_times: list[datetime],
    channel_count: int,
    recent_errors: int,
    recent_operations: int,
    memory_estimate: int,
    outbox_size: int,
    channel_stats: list[ChannelStats],
    extra_checks: list[HealthCheck] | None = None,
) -> dict[str, Any]:
    """Return ``{"status", "checks", "insights", "checked_at"}`` for the batcher's state."""
    grace = timedelta(seconds=config.stuck_batch_grace_seconds)
    stuck = sum(1 for due in due_times if due + grace < now)
    checks = [
        HealthCheck(
            "stuck_batches",
            UNHEALTHY if stuck else HEALTHY,
            stuck,
            1,
            f"{stuck} batches overdue by more than {config.stuck_batch_grace_seconds:g} s"
            if stuck
            else "no batch is overdue",
        ),
        HealthCheck(
            "queue_size",
            threshold_level(stats.pending_messages, config.max_pending_messages),
            stats.pending_messages,
            config.max_pending_messages,
            f"{stats.pending_messages} messages pending (limit {config.max_pending_messages})",
        ),
        HealthCheck(
            "channel_count",
            DEGRADED if channel_count >= config.max_channels else HEALTHY,
            channel_count,
            config.max_channels,
            f"{channel_count} channels with pending batches (limit {config.max_channels}; "
            "past it the least active are flushed early)",
        ),
    ]
    rate = recent_errors / recent_operations if recent_operations else 0.0
    threshold = config.error_rate_threshold
    rate_status = HEALTHY
    if rate > threshold:
        rate_status = UNHEALTHY if rate > min(1.0, threshold * 5) else DEGRADED
    checks.append(
        HealthCheck(
            "error_rate",
            rate_status,
            round(rate, 4),
            threshold,
            f"{recent_errors} errors in the last {recent_operations} operations",
        )
    )
    budget = config.memory_budget_bytes
    checks.append(
        HealthCheck(
            "memory",
            threshold_level(memory_estimate, budget) if budget else HEALTHY,
            memory_estimate,
            budget or 0,
            f"about {memory_estimate / 1024:.0f} KiB of pending messages"
            + (f" (budget {budget / 1024:.0f} KiB)" if budget else " (no budget set)"),
        )
    )
    checks.extend(extra_checks or [])
    busiest = sorted(channel_stats, key=lambda c: c.messages_batched, reverse=True)[:5]
    sent = stats.messages_sent
    insights = {
        "busiest_channels": [
            {"channel_id": c.channel_id, "messages": c.messages_batched, "posts": c.batches_sent}
            for c in busiest
        ],
        "average_batch_size": round(stats.average_batch_size, 3),
        "average_time_to_send": round(stats.average_time_to_send, 3),
        "posts_saved": sent - stats.batches_sent,
        "reduction_ratio": round((sent - stats.batches_sent) / sent, 4) if sent else 0.0,
        "outbox_pending": outbox_size,
        "flush_reasons": dict(stats.flush_reasons),
    }
    return {
        "status": overall_status(checks),
        "checked_at": now.isoformat(),
        "checks": {check.name: check.to_dict() for check in checks},
        "insights": insights,
    }
