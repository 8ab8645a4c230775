"""The "who must act" line of a digest post: "👉 @bob review · acme/api#42".

Mentions are made only of Slack user ids from ``[people]``
(:class:`~slack_batcher.model.people.People`), never of payload text; what they are asked
about is escaped like any user text.
"""

from __future__ import annotations

from dataclasses import replace

from ..model.people import SLACK_USER_ID, Ask
from . import blocks as bk
from .escape import clean_short, truncate
from .limits import MAX_BLOCKS, MAX_FALLBACK_TEXT
from .message import SlackMessage

__all__ = ["ASKS_BLOCK_ID", "with_asks"]

#: The ``block_id`` of the line (replaced, never repeated, when a post is re-rendered).
ASKS_BLOCK_ID = "sb:asks"
_SHOWN = 10


def with_asks(message: SlackMessage, asks: list[Ask]) -> SlackMessage:
    """Return *message* with its who-must-act line (replacing an earlier one)."""
    blocks = [b for b in message.blocks if b.get("block_id") != ASKS_BLOCK_ID]
    safe = [a for a in asks if SLACK_USER_ID.fullmatch(a.user_id)][:_SHOWN]
    if not safe and len(blocks) == len(message.blocks):
        return message
    text = message.text
    if safe and len(blocks) < MAX_BLOCKS:
        parts = [
            f"<@{a.user_id}> {a.why}" + (f" · {clean_short(a.about, 120)}" if a.about else "")
            for a in safe
        ]
        block = bk.context(":point_right: " + ", ".join(parts))
        block["block_id"] = ASKS_BLOCK_ID
        blocks.append(block)
        text = truncate(f"{text}\n" + "; ".join(parts), MAX_FALLBACK_TEXT)
    return replace(message, blocks=blocks, text=text)
