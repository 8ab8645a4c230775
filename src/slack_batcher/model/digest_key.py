"""Digest keys: which flushes of a channel belong in the same live digest.

Used by the runtime (where a flush is posted) and by the batcher (``flush_leading`` posts
the first message of a quiet key at once). Pure functions of the messages.
"""

from __future__ import annotations

from collections.abc import Iterable

from .message import BatchableMessage

__all__ = ["digest_key"]

_MAX_KEY = 300


def _shared(values: Iterable[str]) -> str:
    found = set(values)
    return found.pop() if len(found) == 1 else "*"


def _field(message: BatchableMessage, name: str) -> str:
    value = message.data.get(name)
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value).strip().lower()
    return ""


def digest_key(messages: list[BatchableMessage], digest_by: list[str] | None) -> str:
    """Return the digest key of a batch: ``"alert:api"``, ``"alertname=higherrorrate"``, ``"*"``.

    ``digest_by=None``: the content type and scope every message shares (``*`` where they
    differ); ``[]``: ``"*"``, one digest per channel; field names: ``field=value`` for each,
    the value every message shares or ``*``.
    """
    if digest_by is None:
        kind = _shared(m.content_type.value for m in messages)
        scope = _shared(m.get_scope() for m in messages)
        key = f"{kind}:{scope}"
    elif not digest_by:
        key = "*"
    else:
        key = ",".join(f"{name}={_shared(_field(m, name) for m in messages)}" for name in digest_by)
    return key[:_MAX_KEY]
