"""Block Kit builders that return plain dicts, shaped exactly as slack_sdk's ``to_dict()``.

slack_sdk's ``slack_sdk.models.blocks`` classes validate as they serialise, which costs about
a hundred times more than building the dict (see ``docs/formatting.md`` for the figures),
too slow for the batcher's hot path. These builders produce the same JSON; the tests parse
every golden message with ``slack_sdk.models.blocks.Block.parse`` and compare, so the two
cannot drift apart. Callers pass text that is already escaped and within limits.
"""

from __future__ import annotations

from typing import Any

__all__ = ["context", "header", "mrkdwn", "plain_text", "section"]

Block = dict[str, Any]


def mrkdwn(text: str) -> dict[str, Any]:
    """Return a mrkdwn text object; ``verbatim`` stops Slack from auto-parsing mentions."""
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def plain_text(text: str) -> dict[str, Any]:
    """Return a plain_text object with emoji shortcodes on."""
    return {"type": "plain_text", "text": text, "emoji": True}


def header(text: str) -> Block:
    """Return a header block (text at most 150 characters)."""
    return {"type": "header", "text": {"type": "plain_text", "text": text, "emoji": True}}


def section(text: str, fields: list[str] | None = None) -> Block:
    """Return a section block with mrkdwn *text* and optional mrkdwn *fields*."""
    block: Block = {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}
    if fields:
        block["fields"] = [{"type": "mrkdwn", "text": f, "verbatim": True} for f in fields]
    return block


def context(*texts: str) -> Block:
    """Return a context block with one mrkdwn element per text."""
    if len(texts) == 1:  # the usual case, without a comprehension
        return {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": texts[0], "verbatim": True}],
        }
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": t, "verbatim": True} for t in texts],
    }
