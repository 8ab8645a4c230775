"""validate_message: every Block Kit and message limit Slack enforces, checked before posting.

slack_sdk's block classes check some limits when they serialise; this checks all the ones
slack-batcher's messages can hit (and a custom formatter could break), on plain dicts, cheaply
enough to run on every message. Problems are returned as strings naming the path, e.g.
``blocks[3].text.text: 3120 characters; the limit is 3000``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .limits import (
    MAX_ACTION_ELEMENTS,
    MAX_ACTION_ID,
    MAX_BLOCK_ID,
    MAX_BLOCKS,
    MAX_BUTTON_TEXT,
    MAX_BUTTON_VALUE,
    MAX_CONTEXT_ELEMENTS,
    MAX_FALLBACK_TEXT,
    MAX_FIELD_TEXT,
    MAX_FIELDS,
    MAX_HEADER_TEXT,
    MAX_SECTION_TEXT,
    MAX_TEXT_OBJECT,
    MAX_URL,
)
from .message import SlackMessage

__all__ = ["validate_message"]

_OTHER_BLOCK_TYPES = frozenset(
    {"divider", "image", "rich_text", "input", "file", "video", "markdown", "call"}
)


def _length(problems: list[str], path: str, value: object, limit: int, minimum: int = 1) -> None:
    if not isinstance(value, str):
        problems.append(f"{path}: expected a string, got {type(value).__name__}")
    elif len(value) > limit:
        problems.append(f"{path}: {len(value)} characters; the limit is {limit}")
    elif len(value) < minimum:
        problems.append(f"{path}: must not be empty")


def _text_object(
    problems: list[str], path: str, obj: object, limit: int, *, plain_only: bool = False
) -> None:
    if not isinstance(obj, dict):
        problems.append(f"{path}: expected a text object, got {type(obj).__name__}")
        return
    kind = obj.get("type")
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if kind not in allowed:
        problems.append(f"{path}.type: must be {' or '.join(allowed)}, got {kind!r}")
    _length(problems, f"{path}.text", obj.get("text"), limit)


def _count(problems: list[str], path: str, items: object, limit: int) -> list[Any]:
    if not isinstance(items, list):
        problems.append(f"{path}: expected a list, got {type(items).__name__}")
        return []
    if not items:
        problems.append(f"{path}: must not be empty")
    elif len(items) > limit:
        problems.append(f"{path}: {len(items)} items; the limit is {limit}")
    return items


def _header(problems: list[str], path: str, block: dict[str, Any]) -> None:
    _text_object(problems, f"{path}.text", block.get("text"), MAX_HEADER_TEXT, plain_only=True)


def _section(problems: list[str], path: str, block: dict[str, Any]) -> None:
    text, fields = block.get("text"), block.get("fields")
    if text is None and fields is None:
        problems.append(f"{path}: a section needs text or fields")
    if text is not None:
        _text_object(problems, f"{path}.text", text, MAX_SECTION_TEXT)
    if fields is not None:
        for i, item in enumerate(_count(problems, f"{path}.fields", fields, MAX_FIELDS)):
            _text_object(problems, f"{path}.fields[{i}]", item, MAX_FIELD_TEXT)
    accessory = block.get("accessory")
    if isinstance(accessory, dict):
        _element(problems, f"{path}.accessory", accessory)


def _context(problems: list[str], path: str, block: dict[str, Any]) -> None:
    elements = _count(problems, f"{path}.elements", block.get("elements"), MAX_CONTEXT_ELEMENTS)
    for i, element in enumerate(elements):
        if isinstance(element, dict) and element.get("type") in ("plain_text", "mrkdwn"):
            _text_object(problems, f"{path}.elements[{i}]", element, MAX_TEXT_OBJECT)


def _actions(problems: list[str], path: str, block: dict[str, Any]) -> None:
    elements = _count(problems, f"{path}.elements", block.get("elements"), MAX_ACTION_ELEMENTS)
    for i, element in enumerate(elements):
        _element(problems, f"{path}.elements[{i}]", element)


def _element(problems: list[str], path: str, element: object) -> None:
    if not isinstance(element, dict):
        problems.append(f"{path}: expected an element object, got {type(element).__name__}")
        return
    if "action_id" in element:
        _length(problems, f"{path}.action_id", element["action_id"], MAX_ACTION_ID)
    if element.get("type") == "button":
        _text_object(problems, f"{path}.text", element.get("text"), MAX_BUTTON_TEXT)
        if "url" in element:
            _length(problems, f"{path}.url", element["url"], MAX_URL)
        if "value" in element:
            _length(problems, f"{path}.value", element["value"], MAX_BUTTON_VALUE)


_CHECKS: dict[str, Callable[[list[str], str, dict[str, Any]], None]] = {
    "header": _header,
    "section": _section,
    "context": _context,
    "actions": _actions,
}


_TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})


def _short_text(obj: object, limit: int) -> bool:
    if type(obj) is not dict:
        return False
    text = obj.get("text")
    return type(text) is str and 0 < len(text) <= limit and obj.get("type") in _TEXT_TYPES


def _plainly_valid(kind: object, block: dict[str, Any]) -> bool:
    """Return True for the common simple blocks when they are clearly within limits.

    A cheap pre-check so that validating every message costs little; anything it does not
    clear goes through the full checks, which also say what is wrong.
    """
    if kind == "section":
        return (
            "fields" not in block
            and "accessory" not in block
            and _short_text(block.get("text"), MAX_SECTION_TEXT)
        )
    if kind == "context":
        elements = block.get("elements")
        return (
            type(elements) is list
            and 0 < len(elements) <= MAX_CONTEXT_ELEMENTS
            and all(_short_text(e, MAX_TEXT_OBJECT) for e in elements)
        )
    if kind == "header":
        text = block.get("text")
        return (
            _short_text(text, MAX_HEADER_TEXT)
            and type(text) is dict
            and text.get("type") == "plain_text"
        )
    return False


def _blocks(problems: list[str], blocks: object) -> None:
    if not isinstance(blocks, list):
        problems.append(f"blocks: expected a list, got {type(blocks).__name__}")
        return
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"blocks: {len(blocks)} blocks; the limit is {MAX_BLOCKS}")
    block_ids: set[object] = set()
    for i, block in enumerate(blocks):
        path = f"blocks[{i}]"
        if not isinstance(block, dict):
            problems.append(f"{path}: expected a block object, got {type(block).__name__}")
            continue
        kind = block.get("type")
        if "block_id" in block:
            block_id = block["block_id"]
            _length(problems, f"{path}.block_id", block_id, MAX_BLOCK_ID)
            if block_id in block_ids:
                problems.append(f"{path}.block_id: {block_id!r} is used twice")
            block_ids.add(block_id)
        if _plainly_valid(kind, block):
            continue
        check = _CHECKS.get(kind) if isinstance(kind, str) else None
        if check is not None:
            check(problems, path, block)
        elif kind not in _OTHER_BLOCK_TYPES:
            problems.append(f"{path}.type: unknown block type {kind!r}")


def validate_message(message: SlackMessage) -> list[str]:
    """Return every way *message* (and its continuation pages) breaks Slack's limits.

    Checked: at most 50 blocks; section text ≤ 3000; header plain_text ≤ 150; at most 10
    section fields of ≤ 2000; at most 10 context elements; at most 25 action elements
    (action_id ≤ 255, button text ≤ 75, url ≤ 3000, value ≤ 2000); block_id ≤ 255 and unique;
    known block types; fallback ``text`` non-empty and ≤ 4000. An empty list means valid.
    """
    if not isinstance(message, SlackMessage):
        return [f"message: expected a SlackMessage, got {type(message).__name__}"]
    problems: list[str] = []
    text = message.text
    if not isinstance(text, str) or not text.strip():
        problems.append("text: the fallback text must not be empty")
    elif len(text) > MAX_FALLBACK_TEXT:
        problems.append(f"text: {len(text)} characters; the limit is {MAX_FALLBACK_TEXT}")
    _blocks(problems, message.blocks)
    for number, page in enumerate(message.continuations, start=2):
        problems.extend(f"page {number}: {p}" for p in validate_message(page))
    return problems
