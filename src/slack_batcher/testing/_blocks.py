"""Block Kit validation as Slack's API does it: a list of problems, each with a JSON pointer.

Slack answers a payload that breaks a limit with ``invalid_blocks`` and one message per
problem, e.g. ``"must be less than 3001 characters [json-pointer:/blocks/0/text/text]"``.
The limits are Slack's published ones (``formatting.limits`` names them too); the checks
cover the block types slack-batcher and most notifiers send, and accept the other known
types without looking inside.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..formatting.limits import (
    MAX_ACTION_ELEMENTS,
    MAX_BLOCK_ID,
    MAX_BLOCKS,
    MAX_CONTEXT_ELEMENTS,
    MAX_FIELD_TEXT,
    MAX_FIELDS,
    MAX_HEADER_TEXT,
    MAX_SECTION_TEXT,
)

__all__ = ["MAX_MESSAGE_TEXT", "TRUNCATED_TEXT", "validate_blocks"]

#: Longer top-level ``text`` is refused with ``msg_too_long``.
MAX_MESSAGE_TEXT = 40_000
#: Longer top-level ``text`` is accepted, with a ``message_truncated`` warning.
TRUNCATED_TEXT = 4_000

_TEXT_TYPES = ("plain_text", "mrkdwn")
_OPAQUE_TYPES = frozenset({"rich_text", "input", "file", "video", "markdown", "call"})
_ELEMENT_TYPES = frozenset(
    {
        "button",
        "checkboxes",
        "datepicker",
        "datetimepicker",
        "image",
        "multi_static_select",
        "overflow",
        "radio_buttons",
        "static_select",
        "timepicker",
        "users_select",
        "conversations_select",
        "channels_select",
        "external_select",
        "workflow_button",
    }
)


def _pointer(problem: str, path: str) -> str:
    return f"{problem} [json-pointer:{path}]"


def _text_object(
    value: object, path: str, limit: int, types: tuple[str, ...] = _TEXT_TYPES
) -> list[str]:
    if not isinstance(value, dict):
        return [_pointer("must provide an object", path)]
    problems: list[str] = []
    if value.get("type") not in types:
        problems.append(_pointer("must be a valid enum value", f"{path}/type"))
    text = value.get("text")
    if not isinstance(text, str):
        problems.append(_pointer("must provide a string", f"{path}/text"))
    elif not text:
        problems.append(_pointer("must be more than 0 characters", f"{path}/text"))
    elif len(text) > limit:
        problems.append(_pointer(f"must be less than {limit + 1} characters", f"{path}/text"))
    return problems


def _items(value: object, path: str, limit: int) -> tuple[list[Any], list[str]]:
    """Check that *value* is a non-empty array of at most *limit* items."""
    if not isinstance(value, list):
        return [], [_pointer("must provide an array", path)]
    if not value:
        return [], [_pointer("must provide at least 1 items", path)]
    if len(value) > limit:
        return value, [_pointer(f"no more than {limit} items allowed", path)]
    return value, []


def _section(block: dict[str, Any], path: str) -> list[str]:
    if "text" not in block and "fields" not in block:
        return [_pointer("must provide text or fields", path)]
    problems: list[str] = []
    if "text" in block:
        problems += _text_object(block["text"], f"{path}/text", MAX_SECTION_TEXT)
    if "fields" in block:
        fields, found = _items(block["fields"], f"{path}/fields", MAX_FIELDS)
        problems += found
        for index, field in enumerate(fields):
            problems += _text_object(field, f"{path}/fields/{index}", MAX_FIELD_TEXT)
    return problems


def _header(block: dict[str, Any], path: str) -> list[str]:
    return _text_object(block.get("text"), f"{path}/text", MAX_HEADER_TEXT, ("plain_text",))


def _context(block: dict[str, Any], path: str) -> list[str]:
    elements, problems = _items(block.get("elements"), f"{path}/elements", MAX_CONTEXT_ELEMENTS)
    for index, element in enumerate(elements):
        where = f"{path}/elements/{index}"
        if isinstance(element, dict) and element.get("type") == "image":
            problems += _image_element(element, where)
        else:
            problems += _text_object(element, where, MAX_SECTION_TEXT)
    return problems


def _actions(block: dict[str, Any], path: str) -> list[str]:
    elements, problems = _items(block.get("elements"), f"{path}/elements", MAX_ACTION_ELEMENTS)
    for index, element in enumerate(elements):
        if not isinstance(element, dict) or element.get("type") not in _ELEMENT_TYPES:
            problems.append(_pointer("must be a valid element", f"{path}/elements/{index}"))
    return problems


def _image_element(block: dict[str, Any], path: str) -> list[str]:
    problems: list[str] = []
    if not isinstance(block.get("alt_text"), str):
        problems.append(_pointer("missing required field: alt_text", path))
    if "image_url" not in block and "slack_file" not in block:
        problems.append(_pointer("missing required field: image_url", path))
    return problems


def _divider(block: dict[str, Any], path: str) -> list[str]:
    return []


_CHECKS: dict[str, Callable[[dict[str, Any], str], list[str]]] = {
    "section": _section,
    "header": _header,
    "context": _context,
    "actions": _actions,
    "image": _image_element,
    "divider": _divider,
}


def _block(block: object, path: str, seen_ids: set[str]) -> list[str]:
    if not isinstance(block, dict):
        return [_pointer("must provide an object", path)]
    kind = block.get("type")
    problems: list[str] = []
    block_id = block.get("block_id")
    if block_id is not None:
        if not isinstance(block_id, str) or len(block_id) > MAX_BLOCK_ID:
            problems.append(
                _pointer(f"must be less than {MAX_BLOCK_ID + 1} characters", f"{path}/block_id")
            )
        elif block_id in seen_ids:
            problems.append(_pointer("duplicate block_id", f"{path}/block_id"))
        else:
            seen_ids.add(block_id)
    if kind in _OPAQUE_TYPES:
        return problems
    check = _CHECKS.get(kind) if isinstance(kind, str) else None
    if check is None:
        return [*problems, _pointer("must be a valid enum value", f"{path}/type")]
    return problems + check(block, path)


def validate_blocks(blocks: object) -> list[str]:
    """Return Slack's ``invalid_blocks`` messages for *blocks* (empty when valid)."""
    if not isinstance(blocks, list):
        return [_pointer("must provide an array", "/blocks")]
    if len(blocks) > MAX_BLOCKS:
        return [_pointer(f"no more than {MAX_BLOCKS} items allowed", "/blocks")]
    problems: list[str] = []
    seen_ids: set[str] = set()
    for index, block in enumerate(blocks):
        problems += _block(block, f"/blocks/{index}", seen_ids)
    return problems
