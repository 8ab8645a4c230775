"""Values of the Redis store to and from slack-batcher objects.

Times go into sorted sets as whole microseconds since the epoch (exact, and ordered) and into
hashes as ISO 8601 text; structured values are compact JSON, as in the SQLite store.
"""

from __future__ import annotations

import json
from typing import Any

from ...formatting.message import SlackMessage
from ...model.batch import BatchGroup
from ...model.message import BatchableMessage, BatchType
from ...model.progress import DeliveryProgress
from ...model.similarity import Profile
from ..base import DeadLetter, OutboxEntry
from ..codec import dump_json, micros_time, time_text, time_value

__all__ = [
    "batch_from_hash",
    "batch_head",
    "entry_head",
    "letter_from_json",
    "letter_json",
    "outbox_from_hash",
    "partition_text",
    "profile_text",
]


def profile_text(profile: Profile) -> str:
    """Return a grouping profile as the Lua scripts compare it: scope, author, type."""
    return f"{profile[0]}\x1f{profile[1]}\x1f{profile[2].value}"


def partition_text(partition: tuple[str, ...]) -> str:
    """Return a grouping partition key as one comparable string."""
    return dump_json(list(partition))


def batch_head(batch: BatchGroup) -> str:
    """Return the fixed part of a batch (what never changes after it opens) as JSON."""
    return dump_json(
        {
            "id": batch.id,
            "channel_id": batch.channel_id,
            "batch_type": batch.batch_type.value,
            "created_at": time_text(batch.created_at),
            "expires_at": time_text(batch.due_at),
            "metadata": batch.metadata,
        }
    )


def batch_from_hash(fields: dict[str, str], bodies: list[str]) -> BatchGroup:
    """Rebuild a batch from its hash and its message bodies (arrival order)."""
    head = json.loads(fields["head"])
    batch = BatchGroup(
        id=head["id"],
        channel_id=head["channel_id"],
        batch_type=BatchType(head["batch_type"]),
        created_at=time_value(head["created_at"]),
        expires_at=time_value(head["expires_at"]),
        metadata=head["metadata"],
    )
    for body in bodies:
        batch.add_message(BatchableMessage.from_dict(json.loads(body)))
    batch.last_activity = time_value(fields["last"])
    batch.sequence = int(fields.get("seq", 0))
    if fields.get("exp"):  # a sliding window moved the due time
        batch.expires_at = micros_time(fields["exp"])
    return batch


def entry_head(entry: OutboxEntry) -> str:
    """Return the fixed part of an outbox entry as JSON (messages are stored apart)."""
    return dump_json(
        {
            "id": entry.id,
            "channel_id": entry.channel_id,
            "batch_id": entry.batch_id,
            "message": entry.message.to_dict(),
            "flushed_at": time_text(entry.flushed_at),
            "due_at": time_text(entry.due_at),
            "reason": entry.reason,
        }
    )


def outbox_from_hash(fields: dict[str, str]) -> OutboxEntry:
    """Rebuild an outbox entry from its hash."""
    head: dict[str, Any] = json.loads(fields["entry"])
    return OutboxEntry(
        id=head["id"],
        channel_id=head["channel_id"],
        batch_id=head["batch_id"],
        message=SlackMessage.from_dict(head["message"]),
        messages=[BatchableMessage.from_dict(raw) for raw in json.loads(fields["msgs"])],
        flushed_at=time_value(head["flushed_at"]),
        due_at=time_value(head["due_at"]),
        reason=head["reason"],
        attempts=int(fields.get("attempts") or 0),
        next_attempt_at=time_value(fields["next"]) if fields.get("next") else None,
        last_error=fields.get("error") or None,
        state=DeliveryProgress.from_dict(json.loads(fields.get("state") or "{}")),
    )


def letter_json(letter: DeadLetter) -> str:
    """Return a dead letter as JSON."""
    return dump_json(
        {
            "id": letter.id,
            "channel_id": letter.channel_id,
            "reason": letter.reason,
            "created_at": time_text(letter.created_at),
            "messages": [m.to_dict() for m in letter.messages],
            "batch_id": letter.batch_id,
            "error_code": letter.error_code,
            "message": None if letter.message is None else letter.message.to_dict(),
        }
    )


def letter_from_json(text: str) -> DeadLetter:
    """Rebuild a dead letter from :func:`letter_json` output."""
    raw = json.loads(text)
    return DeadLetter(
        id=raw["id"],
        channel_id=raw["channel_id"],
        reason=raw["reason"],
        created_at=time_value(raw["created_at"]),
        messages=[BatchableMessage.from_dict(m) for m in raw["messages"]],
        batch_id=raw["batch_id"],
        error_code=raw["error_code"],
        message=None if raw["message"] is None else SlackMessage.from_dict(raw["message"]),
    )
