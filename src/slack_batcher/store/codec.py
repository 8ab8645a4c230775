"""Values of the stores to and from slack-batcher objects: one codec for SQLite and Redis.

Times are stored as ISO 8601 text in UTC with microseconds always present, so text order is
time order and a row stays readable in the ``sqlite3`` shell; where a number must order them
(a Redis sorted-set score, a Lua comparison) they are whole microseconds since the epoch
(:func:`micros`). Structured values are compact JSON (UTF-8, not ASCII-escaped). The rows
are the SQLite store's; the Redis store adds its hash layouts in ``store/redis/codec.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from ..formatting.message import SlackMessage
from ..model.batch import BatchGroup
from ..model.message import BatchableMessage, BatchType
from ..model.progress import DeliveryProgress
from .base import DeadLetter, OutboxEntry

__all__ = [
    "DEAD_LETTER_COLUMNS",
    "OUTBOX_COLUMNS",
    "batch_from_row",
    "batch_row",
    "dead_letter_from_row",
    "dead_letter_row",
    "dump_json",
    "join_arrays",
    "join_bodies",
    "message_body",
    "message_from_body",
    "micros",
    "micros_time",
    "outbox_from_row",
    "outbox_row",
    "time_text",
    "time_value",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _not_serialisable(value: object) -> object:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _make_dump() -> Callable[[object], str]:
    """Return compact JSON encoding: the C encoder called directly (~2 µs less per call)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython always has it
        return _encoder.encode
    # No circular-reference markers (after an error they would keep stale ids): a cycle
    # surfaces as RecursionError, which the store reports as "cannot encode".
    encoder = make(
        None, _not_serialisable, json.encoder.encode_basestring, None, ":", ",", False, False, False
    )

    def dump(value: object) -> str:
        return "".join(encoder(value, 0))

    return dump


#: Encode a value as compact JSON (UTF-8 text, no NaN, TypeError for what JSON cannot hold).
dump_json = _make_dump()


def time_text(when: datetime) -> str:
    """Return *when* as sortable UTC ISO 8601 text."""
    if when.tzinfo is not UTC:
        when = when.astimezone(UTC)
    return when.isoformat(timespec="microseconds")


def time_value(text: str) -> datetime:
    """Parse :func:`time_text` output back into an aware datetime."""
    return datetime.fromisoformat(text)


def micros(when: datetime) -> int:
    """Return *when* as whole microseconds since the epoch (exact, and ordered)."""
    return (when - _EPOCH) // _MICRO


def micros_time(score: str | float) -> datetime:
    """Return the time of :func:`micros` output (as text or a float: Redis may send 1.7e+15)."""
    return _EPOCH + timedelta(microseconds=int(float(score)))


def _optional_time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def message_body(message: BatchableMessage) -> str:
    """Return the stored form of one message."""
    return dump_json(message.to_dict())


def message_from_body(body: str) -> BatchableMessage:
    """Rebuild a message from :func:`message_body` output."""
    return BatchableMessage.from_dict(json.loads(body))


def join_bodies(bodies: list[str]) -> str:
    """Return the JSON array of messages whose :func:`message_body` outputs are *bodies*."""
    return "[" + ",".join(bodies) + "]"


def join_arrays(arrays: list[str]) -> str:
    """Return the JSON array of every item of the JSON arrays *arrays*, in order."""
    return "[" + ",".join(text[1:-1] for text in arrays if text != "[]") + "]"


def _messages_json(messages: list[BatchableMessage]) -> str:
    return dump_json([m.to_dict() for m in messages])


def _messages_from_json(text: str) -> list[BatchableMessage]:
    return [BatchableMessage.from_dict(raw) for raw in json.loads(text)]


def batch_row(batch: BatchGroup) -> tuple[Any, ...]:
    """Return ``(id, channel_id, batch_type, created_at, expires_at, last_activity, metadata)``."""
    return (
        batch.id,
        batch.channel_id,
        batch.batch_type.value,
        time_text(batch.created_at),
        time_text(batch.due_at),
        time_text(batch.last_activity or batch.created_at),
        dump_json(batch.metadata),
    )


def batch_from_row(row: tuple[Any, ...], messages: list[BatchableMessage]) -> BatchGroup:
    """Rebuild a batch from a :func:`batch_row`-shaped row and its messages in arrival order."""
    batch_id, channel_id, batch_type, created_at, expires_at, last_activity, metadata = row
    batch = BatchGroup(
        id=batch_id,
        channel_id=channel_id,
        batch_type=BatchType(batch_type),
        created_at=time_value(created_at),
        expires_at=time_value(expires_at),
        last_activity=time_value(last_activity),
        metadata=json.loads(metadata),
    )
    batch.messages = messages
    batch.size_bytes = sum(m.size_bytes for m in messages)
    return batch


#: Column order of :func:`outbox_row` and :func:`outbox_from_row`.
OUTBOX_COLUMNS = (
    "id, channel_id, batch_id, reason, flushed_at, due_at, attempts, next_attempt_at, "
    "last_error, state, message, messages"
)


def outbox_row(entry: OutboxEntry, messages_json: str | None = None) -> tuple[Any, ...]:
    """Return an outbox entry as a row in :data:`OUTBOX_COLUMNS` order.

    *messages_json* is ``entry.messages`` already encoded, when the caller has it.
    """
    return (
        entry.id,
        entry.channel_id,
        entry.batch_id,
        entry.reason,
        time_text(entry.flushed_at),
        time_text(entry.due_at),
        entry.attempts,
        None if entry.next_attempt_at is None else time_text(entry.next_attempt_at),
        entry.last_error,
        dump_json(entry.state.to_dict()),
        dump_json(entry.message.to_dict()),
        messages_json if messages_json is not None else _messages_json(entry.messages),
    )


def outbox_from_row(row: tuple[Any, ...]) -> OutboxEntry:
    """Rebuild an outbox entry from a row in :data:`OUTBOX_COLUMNS` order."""
    (oid, channel_id, batch_id, reason, flushed_at, due_at, attempts, next_attempt_at,
     last_error, state, message, messages) = row  # fmt: skip
    return OutboxEntry(
        id=oid,
        channel_id=channel_id,
        batch_id=batch_id,
        message=SlackMessage.from_dict(json.loads(message)),
        messages=_messages_from_json(messages),
        flushed_at=time_value(flushed_at),
        due_at=time_value(due_at),
        reason=reason,
        attempts=attempts,
        next_attempt_at=_optional_time(next_attempt_at),
        last_error=last_error,
        state=DeliveryProgress.from_dict(json.loads(state)),
    )


#: Column order of :func:`dead_letter_row` and :func:`dead_letter_from_row`.
DEAD_LETTER_COLUMNS = "id, channel_id, reason, error_code, created_at, batch_id, message, messages"


def dead_letter_row(letter: DeadLetter) -> tuple[Any, ...]:
    """Return a dead letter as a row in :data:`DEAD_LETTER_COLUMNS` order."""
    return (
        letter.id,
        letter.channel_id,
        letter.reason,
        letter.error_code,
        time_text(letter.created_at),
        letter.batch_id,
        None if letter.message is None else dump_json(letter.message.to_dict()),
        _messages_json(letter.messages),
    )


def dead_letter_from_row(row: tuple[Any, ...]) -> DeadLetter:
    """Rebuild a dead letter from a row in :data:`DEAD_LETTER_COLUMNS` order."""
    lid, channel_id, reason, error_code, created_at, batch_id, message, messages = row
    return DeadLetter(
        id=lid,
        channel_id=channel_id,
        reason=reason,
        created_at=time_value(created_at),
        messages=_messages_from_json(messages),
        batch_id=batch_id,
        error_code=error_code,
        message=None if message is None else SlackMessage.from_dict(json.loads(message)),
    )
