"""The compact-JSON size of a typical event payload, counted without encoding it.

Most ``data`` dicts are flat: string keys, and values that are strings, ints, bools,
None, lists of strings or objects of strings (labels, annotations). Their size as compact
JSON (``separators=(",", ":")``, ``ensure_ascii=False``, in UTF-8 bytes) follows from the
string sizes alone when no string needs escaping. :func:`plain_json_size` counts that case
and returns ``None`` for anything else, which the caller then encodes: the result is always
the encoder's length, never an estimate.
"""

from __future__ import annotations

from typing import Any

__all__ = ["plain_json_size"]

#: Ints beyond this are left to the encoder (it refuses past Python's digit limit).
_INT_LIMIT = 10**18


def plain_json_size(value: dict[str, Any]) -> int | None:  # noqa: C901 - hot path, flat
    r"""Return len of *value* as compact JSON when it is a plain payload, else ``None``.

    Plain: keys are strings; values are strings, ints, bools, None, or lists / objects
    holding only strings; every string is printable without ``"`` or ``\\``, so JSON writes
    it as itself between quotes.
    """
    if not value:
        return 2
    strings: list[str] = []
    add = strings.append
    size = 1 + 2 * len(value)  # braces, the commas between entries, the colons
    for key, item in value.items():
        if type(key) is not str:
            return None
        add(key)
        kind = type(item)
        if kind is str:
            add(item)
        elif kind is int and -_INT_LIMIT < item < _INT_LIMIT:
            size += len(str(item))
        elif kind is bool:
            size += 4 if item else 5  # true, false
        elif item is None:
            size += 4  # null
        elif kind is list:
            for element in item:
                if type(element) is not str:
                    return None
            strings.extend(item)
            size += len(item) + 1 if item else 2  # brackets and commas
        elif kind is dict:
            for inner_key, element in item.items():
                if type(inner_key) is not str or type(element) is not str:
                    return None
                add(inner_key)
                add(element)
            size += 2 * len(item) + 1 if item else 2  # braces, commas and colons
        else:
            return None
    joined = " ".join(strings)  # one scan of every string: a space needs no escaping
    # Printable excludes the control characters JSON escapes (and lone surrogates).
    if not joined.isprintable() or '"' in joined or "\\" in joined:
        return None
    length = len(joined) if joined.isascii() else len(joined.encode("utf-8"))
    # Each string: its bytes and two quotes; the joining spaces (one byte each) are not.
    return size + length - (len(strings) - 1) + 2 * len(strings)
