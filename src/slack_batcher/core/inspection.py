"""Inspection: describing pending batches without sending anything."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..formatting.fallback import item_title
from ..model.batch import BatchGroup

__all__ = ["describe_batch", "describe_pending"]


def describe_batch(batch: BatchGroup, now: datetime, *, priority_ordering: bool) -> dict[str, Any]:
    """Return a JSON-ready description of one pending batch and its items."""
    ordered = batch.ordered_messages(priority_ordering)
    return {
        "id": batch.id,
        "channel_id": batch.channel_id,
        "batch_type": batch.batch_type.value,
        "message_count": len(batch.messages),
        "opened_at": batch.created_at.isoformat(),
        "due_at": batch.due_at.isoformat(),
        "last_activity": (batch.last_activity or batch.created_at).isoformat(),
        "seconds_until_due": round((batch.due_at - now).total_seconds(), 3),
        "overdue": now >= batch.due_at,
        "items": [
            {
                "id": m.id,
                "content_type": m.content_type.value,
                "author": m.author,
                "priority": m.priority,
                "timestamp": m.timestamp.isoformat(),
                "summary": item_title(m)[:200],
            }
            for m in ordered
        ],
    }


def describe_pending(
    channels: Mapping[str, list[BatchGroup]],
    now: datetime,
    *,
    priority_ordering: Mapping[str, bool],
    default_ordering: bool,
) -> dict[str, Any]:
    """Describe the pending batches of *channels* (each in opening order), by channel."""
    described: dict[str, Any] = {}
    total_batches = total_messages = 0
    for cid, pending in channels.items():
        ordering = priority_ordering.get(cid, default_ordering)
        batches = [describe_batch(b, now, priority_ordering=ordering) for b in pending]
        count = sum(b["message_count"] for b in batches)
        described[cid] = {
            "batch_count": len(batches),
            "message_count": count,
            "next_due_at": min(b["due_at"] for b in batches) if batches else None,
            "batches": batches,
        }
        total_batches += len(batches)
        total_messages += count
    return {
        "inspected_at": now.isoformat(),
        "total_batches": total_batches,
        "total_messages": total_messages,
        "channels": described,
    }
