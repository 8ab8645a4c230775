"""The controls block of a digest post: Mute 1 h / 4 h / 24 h, Acknowledge, Unmute.

One ``actions`` block (5 buttons, far below Block Kit's 25 elements per block), appended to
a post only while it has fewer than 50 blocks and replaced, never repeated, when the post
is re-rendered. What each button acts on is its ``value``, made by the caller's *sign*
(see :class:`~slack_batcher.model.control.ControlSigner`): the service never trusts a
value it did not sign.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from ..model.control import action_id
from .blocks import Block
from .limits import MAX_BLOCKS
from .message import SlackMessage

__all__ = ["CONTROLS_BLOCK_ID", "controls_block", "with_controls"]

#: The ``block_id`` of the controls block.
CONTROLS_BLOCK_ID = "sb:controls"
_BUTTONS = (
    ("mute:60", "Mute 1 h"),
    ("mute:240", "Mute 4 h"),
    ("mute:1440", "Mute 24 h"),
    ("ack", "Acknowledge"),
)


def _button(action: str, label: str, value: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "action_id": action_id(action),
        "text": {"type": "plain_text", "text": label},
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def controls_block(sign: Callable[[str], str], *, muted: bool, acknowledged: bool) -> Block:
    """Return the actions block; *sign(action)* makes each button's value.

    Unmute shows only while the post is muted; Acknowledge only until someone did.
    """
    elements = [
        _button(action, label, sign(action))
        for action, label in _BUTTONS
        if action != "ack" or not acknowledged
    ]
    if muted:
        elements.append(_button("unmute", "Unmute", sign("unmute"), "danger"))
    return {"type": "actions", "block_id": CONTROLS_BLOCK_ID, "elements": elements}


def with_controls(message: SlackMessage, block: Block) -> SlackMessage:
    """Return *message* with *block* as its controls (replacing earlier ones), if there is room."""
    blocks = [b for b in message.blocks if b.get("block_id") != CONTROLS_BLOCK_ID]
    if len(blocks) >= MAX_BLOCKS:
        return replace(message, blocks=blocks)
    return replace(message, blocks=[*blocks, block])
