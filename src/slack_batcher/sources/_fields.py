"""Reading webhook JSON defensively: every helper degrades instead of raising.

Payloads come from the network: any field may be missing, null, the wrong type, very long or
carry lone surrogates. These helpers return ``""`` / ``{}`` / ``None`` for anything that is
not what they expect, so the adapters stay short and a strange payload can never crash one.
:func:`required` is the exception: it raises :class:`PayloadError` naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from .base import PayloadError

__all__ = ["as_int", "clip", "labels_of", "obj", "required", "text", "when"]

#: Longest string copied from a payload into a message (the formatter cuts at 3000 anyway).
MAX_TEXT = 3000
#: Most label pairs kept from one alert (a label explosion must not make a huge message).
MAX_LABELS = 64


def clip(value: str, limit: int = MAX_TEXT) -> str:
    """Cut *value* to *limit* characters and replace lone surrogates (not encodable)."""
    value = value[:limit]
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def obj(parent: object, *path: str) -> dict[str, Any]:
    """Return the JSON object at *path* under *parent*, or ``{}``."""
    current = parent
    for name in path:
        if not isinstance(current, dict):
            return {}
        current = current.get(name)
    return current if isinstance(current, dict) else {}


def text(parent: object, *path: str, limit: int = MAX_TEXT) -> str:
    """Return the string (or number, as text) at *path* under *parent*, or ``""``."""
    if not path:
        return ""
    value = obj(parent, *path[:-1]).get(path[-1]) if len(path) > 1 else _get(parent, path[0])
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int | float):
        return clip(str(value), limit)
    if isinstance(value, str):
        return clip(value.strip(), limit)
    return ""


def as_int(parent: object, *path: str) -> int | None:
    """Return the integer at *path* under *parent* (a float or numeric string too), or None."""
    value = obj(parent, *path[:-1]).get(path[-1]) if len(path) > 1 else _get(parent, path[0])
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit() and len(value) < 19:
        return int(value.strip())
    return None


def when(parent: object, *path: str) -> datetime | None:
    """Return the time at *path*: an ISO 8601 string or epoch milliseconds; else None.

    Alertmanager's "no end" (year 1) and anything unreadable or naive-out-of-range is None.
    """
    value = obj(parent, *path[:-1]).get(path[-1]) if len(path) > 1 else _get(parent, path[0])
    try:
        if isinstance(value, int) and not isinstance(value, bool):
            found = datetime.fromtimestamp(value / 1000, UTC)
        elif isinstance(value, str) and 10 <= len(value) <= 40:
            found = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        else:
            return None
    except (ValueError, OverflowError, OSError):
        return None
    if found.tzinfo is None:
        found = found.replace(tzinfo=UTC)
    return found if found.year > 1970 else None


def required(parent: object, name: str, prefix: str = "") -> dict[str, Any]:
    """Return the object *name* of *parent*; raise PayloadError naming it when it is not one."""
    value = _get(parent, name)
    if not isinstance(value, dict):
        found = "missing" if value is None else f"a {_json_type(value)}"
        raise PayloadError(prefix + name, f"expected a JSON object, found {found}")
    return value


def labels_of(parent: object, name: str) -> dict[str, str]:
    """Return the string-to-string map *name* of *parent* (other values skipped), at most 64."""
    found: dict[str, str] = {}
    for key, value in obj(parent, name).items():
        if len(found) >= MAX_LABELS:
            break
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            found[clip(str(key), 200)] = clip(str(value))
    return found


def _get(parent: object, name: str) -> object:
    return parent.get(name) if isinstance(parent, Mapping) else None


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return type(value).__name__
