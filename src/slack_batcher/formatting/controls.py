"""The controls block of a digest post: Mute 1 h / 4 h / 24 h, Acknowledge, Unmute.

One ``actions`` block (5 buttons, far below Block Kit's 25 elements per block), appended to
a post only while it has fewer than 50 blocks and replaced, never repeated, when the post
is re-rendered. What each button acts on is its ``value``, made by the caller's *sign*
(see :class:`~slack_batcher.model.control.ControlSigner`): the service never trusts a
value it did not sign.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from ..model.control import action_id
from .blocks import Block
from .escape import truncate
from .limits import MAX_BLOCKS
from .message import SlackMessage

__all__ = ["CONTROLS_BLOCK_ID", "LINE_ACTION_ID", "controls_block", "with_controls"]

#: The ``block_id`` of the controls block.
CONTROLS_BLOCK_ID = "sb:controls"
#: The ``action_id`` of the overflow menu that mutes one line (alert, PR, ticket) of a post.
LINE_ACTION_ID = "sb:line"
#: Block Kit: an overflow menu holds 2 to 5 options; an option's value at most 150
#: characters, its text 75.
_MAX_OPTIONS = 5
_MAX_OPTION_VALUE = 150
_MAX_OPTION_TEXT = 75
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


def _line_menu(lines: Sequence[tuple[str, str]]) -> Block | None:
    """Return the "mute one line" overflow menu of (label, signed value)s, or None."""
    options = [
        {
            "text": {"type": "plain_text", "text": truncate(f"Mute {label} 4 h", _MAX_OPTION_TEXT)},
            "value": value,
        }
        for label, value in lines
        if len(value) <= _MAX_OPTION_VALUE
    ][:_MAX_OPTIONS]
    if len(options) < 2:
        return None
    return {"type": "overflow", "action_id": LINE_ACTION_ID, "options": options}


def controls_block(
    sign: Callable[[str], str],
    *,
    muted: bool,
    acknowledged: bool,
    lines: Sequence[tuple[str, str]] = (),
) -> Block:
    """Return the actions block; *sign(action)* makes each button's value.

    Unmute shows only while the post is muted; Acknowledge only until someone did.
    *lines* — (label, signed value) per alert / PR / ticket of the post — become an
    overflow menu muting one of them for 4 hours (when there are two or more).
    """
    elements = [
        _button(action, label, sign(action))
        for action, label in _BUTTONS
        if action != "ack" or not acknowledged
    ]
    if muted:
        elements.append(_button("unmute", "Unmute", sign("unmute"), "danger"))
    menu = _line_menu(lines)
    if menu is not None:
        elements.append(menu)
    return {"type": "actions", "block_id": CONTROLS_BLOCK_ID, "elements": elements}


def with_controls(message: SlackMessage, block: Block) -> SlackMessage:
    """Return *message* with *block* as its controls (replacing earlier ones), if there is room."""
    blocks = [b for b in message.blocks if b.get("block_id") != CONTROLS_BLOCK_ID]
    if len(blocks) >= MAX_BLOCKS:
        return replace(message, blocks=blocks)
    return replace(message, blocks=[*blocks, block])
