"""The payload checks of a message: ``data`` and ``metadata`` as JSON, sized, valid Unicode.

A value that JSON cannot carry, that nests deeper than :data:`MAX_NESTING`, or that holds a
lone surrogate is refused with :class:`~slack_batcher.model.errors.InvalidMessageError`
naming where. Used by :class:`~slack_batcher.model.message.BatchableMessage` when it is built.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from .errors import InvalidMessageError
from .json_size import plain_json_size

__all__ = ["MAX_NESTING", "encoded_size", "valid_text"]


#: Deepest nesting of objects and arrays in ``data`` / ``metadata`` (the dict itself is 1).
MAX_NESTING = 32
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _not_serialisable(value: object) -> object:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _make_encode() -> Callable[[object], str]:
    """Return compact JSON encoding; the C encoder built once when the C module is there.

    No circular-reference markers: ``_too_deep`` refuses cycles first.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return _ENCODER.encode
    encoder = make(
        None, _not_serialisable, json.encoder.encode_basestring, None, ":", ",", False, False, False
    )

    def encode(value: object) -> str:
        return "".join(encoder(value, 0))

    return encode


_encode = _make_encode()
_CONTAINERS = (dict, list, tuple)


def _too_deep(value: object, limit: int) -> bool:
    """Return True when *value* nests containers more than *limit* levels (cycles included)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        for child in children:  # type: ignore[attr-defined]
            if isinstance(child, _CONTAINERS):
                stack.append((child, depth + 1))
    return False


def _surrogate_path(name: str, value: object) -> str:
    """Return where in *value* a string that is not valid Unicode sits, e.g. ``data.title``."""
    stack: list[tuple[object, str]] = [(value, name)]
    while stack:
        item, path = stack.pop()
        pairs = item.items() if isinstance(item, dict) else enumerate(item)  # type: ignore[arg-type]
        for key, child in pairs:
            where = f"{path}.{key}" if isinstance(item, dict) else f"{path}[{key}]"
            if isinstance(key, str) and not valid_text(key):
                return path
            if isinstance(child, str) and not valid_text(child):
                return where
            if isinstance(child, _CONTAINERS):
                stack.append((child, where))
    return name


def valid_text(text: str) -> bool:
    """Return False for text with a lone surrogate (it cannot be encoded as UTF-8)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def encoded_size(name: str, value: object) -> int:
    """Return the UTF-8 size of *value* as compact JSON; refuse what JSON cannot carry.

    A plain flat payload is counted without encoding (:func:`plain_json_size`). Anything
    else is encoded first: nesting is at most the number of opening brackets in the text, so
    the nesting walk runs only when there are more than ``MAX_NESTING`` of them (or when the
    encoder's recursion stopped: a cycle, or nesting far too deep). Under a recursion limit
    raised past ``_SAFE_RECURSION`` the walk runs first, so the encoder never recurses
    deeper than the C stack allows.
    """
    if type(value) is not dict and not isinstance(value, dict):
        raise InvalidMessageError(
            name, f"expected a JSON object (dict), got {type(value).__name__}"
        )
    # The common flat payload is counted, not encoded (the same length: json_size.py).
    size = plain_json_size(value) if type(value) is dict else None
    if size is not None:
        return size
    if _getrecursionlimit() > _SAFE_RECURSION and _nests(value):
        _check_nesting(name, value)
    try:
        encoded = _encode(value)
    except RecursionError:
        _check_nesting(name, value)  # names the nesting; deeper than it checks: as before
        raise InvalidMessageError(name, "must be JSON-serialisable: nested too deeply") from None
    except (TypeError, ValueError) as exc:
        raise InvalidMessageError(name, f"must be JSON-serialisable: {exc}") from None
    if encoded.count("{") + encoded.count("[") > MAX_NESTING:  # possibly too deep: walk it
        _check_nesting(name, value)
    if encoded.isascii():
        return len(encoded)
    try:
        return len(encoded.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidMessageError(
            _surrogate_path(name, value), "contains a lone surrogate: not valid Unicode text"
        ) from None


#: Past this recursion limit the encoder could outgrow the C stack: nesting is walked first.
_SAFE_RECURSION = 10_000
_getrecursionlimit = sys.getrecursionlimit


#: Values that nest nothing: a dict holding only these is one level deep.
_SCALAR_TYPES = frozenset({str, int, float, bool, type(None)})


def _nests(value: dict[str, Any]) -> bool:
    """Return False when no value of *value* holds a container (two levels at most).

    The common shape (a list of labels, an object of annotations) is told apart here with
    C-level type checks; anything deeper, or a container subclass, is walked by
    :func:`_check_nesting`.
    """
    for child in value.values():
        kind = type(child)
        if kind in _SCALAR_TYPES:
            continue
        if kind is dict:
            inner: Any = child.values()
        elif kind is list or kind is tuple:
            inner = child
        else:
            return True  # a container subclass (walk it), or what the encoder refuses
        if not _SCALAR_TYPES.issuperset(map(type, inner)):
            return True
    return False


def _check_nesting(name: str, value: object) -> None:
    if _too_deep(value, MAX_NESTING):
        raise InvalidMessageError(
            name, f"nests objects and arrays more than {MAX_NESTING} levels deep"
        )
