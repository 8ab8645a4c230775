"""The types of the payload fields the adapters read, checked with pydantic before reading.

A signed payload may still carry ``"labels": -1``. Each adapter first validates the fields it
reads against a model here; a field of the wrong type is a :class:`PayloadError` naming it
(``pull_request.labels: expected a list, found a number``), answered 400, never a crash.
Every field is optional and nullable (providers leave many out or send ``null``); only the
*type* of what is present is checked, and fields the adapters do not read are not looked at.
Text fields take numbers too (the adapters show them as text); booleans never pass as text.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, PlainValidator, ValidationError
from pydantic_core import PydanticCustomError

from .base import PayloadError

__all__ = ["Flag", "Int", "RichText", "Shape", "Text", "TextMap", "check", "json_type"]


def json_type(value: object) -> str:
    """Name *value*'s JSON type as people say it: ``a number``, ``a list``, ``null``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a JSON object"
    return f"a {type(value).__name__}"


def _refuse(expected: str, value: object) -> PydanticCustomError:
    return PydanticCustomError(
        "json_type",
        "expected {expected}, found {found}",
        {"expected": expected, "found": json_type(value)},
    )


def _text(value: object) -> object:
    if value is None or (isinstance(value, str | int | float) and not isinstance(value, bool)):
        return value
    raise _refuse("a string", value)


def _int(value: object) -> object:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, float) and value.is_integer():
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return value
    raise _refuse("an integer", value)


def _rich_text(value: object) -> object:
    return value if isinstance(value, dict) else _text(value)


def _flag(value: object) -> object:
    if value is None or isinstance(value, bool):
        return value
    raise _refuse("true or false", value)


#: A string (or a number, shown as text), or null.
Text = Annotated[object, PlainValidator(_text)]
#: An integer (an integral float or a digit string too), or null.
Int = Annotated[object, PlainValidator(_int)]
#: Text, or a JSON object (Jira's Atlassian Document Format, read as no text).
RichText = Annotated[object, PlainValidator(_rich_text)]
#: true, false or null.
Flag = Annotated[object, PlainValidator(_flag)]
#: A JSON object of text values (labels, annotations), or null.
TextMap = dict[str, Text] | None


class Shape(BaseModel):
    """Base of every payload shape: unknown fields ignored, nothing required."""

    model_config = ConfigDict(extra="ignore", frozen=True)


_EXPECTED = {
    "model_type": "a JSON object",
    "model_attributes_type": "a JSON object",
    "dict_type": "a JSON object",
    "list_type": "a list",
}


def _path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path or "body"


def check(shape: type[Shape], payload: object) -> None:
    """Raise :class:`PayloadError` naming the first field of *payload* not of *shape*'s type."""
    try:
        shape.model_validate(payload)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        found: Any = error.get("input")
        expected = _EXPECTED.get(error["type"])
        problem = f"expected {expected}, found {json_type(found)}" if expected else error["msg"]
        raise PayloadError(_path(tuple(error["loc"])), problem) from None
