"""The short lines a post shows for its mutes and acknowledgements.

"3 muted until 15:00 by @ana": a mute keeps its events out of Slack; the digest they would
have joined says so, so nobody mistakes silence for calm. "acknowledged by @ana": someone
is on it. The time is Slack's ``<!date^…>`` token (each reader sees their own time zone;
the fallback text says UTC); who is a user mention when it is a Slack user id, otherwise
escaped text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from . import blocks as bk
from .escape import clean_short, truncate
from .limits import MAX_BLOCKS, MAX_FALLBACK_TEXT
from .message import SlackMessage

__all__ = ["NOTES_BLOCK_ID", "Note", "mute_text", "note_line", "with_notes"]

_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
#: The ``block_id`` of the notes line (replaced, never repeated, when a post is re-rendered).
NOTES_BLOCK_ID = "sb:notes"
_MAX_NOTES = 10  # a context block holds at most 10 elements


@dataclass(frozen=True, slots=True)
class Note:
    """One mute (``kind="mute"``: *count* events kept until *until*) or acknowledgement."""

    kind: str
    count: int
    until: datetime
    by: str
    scope: str


def _who(by: str) -> str:
    return f"<@{by}>" if _USER_ID.fullmatch(by) else clean_short(by, 80)


def mute_text(count: int, until: datetime, by: str, scope: str) -> str:
    """Return the plain line: ``3 muted until 15:00 UTC by ana (alert:x)``."""
    head = f"{count} muted" if count else "muted"
    who = f" by {by}" if by else ""
    return f"{head} until {until.strftime('%H:%M')} UTC{who} ({scope})"


def _text(note: Note) -> str:
    if note.kind == "ack":
        return f"acknowledged by {note.by} ({note.scope})"
    return mute_text(note.count, note.until, note.by, note.scope)


def note_line(note: Note) -> str:
    """Return the mrkdwn line of *note*."""
    scope = clean_short(note.scope, 120)
    if note.kind == "ack":
        return f":white_check_mark: acknowledged by {_who(note.by)} · `{scope}`"
    head = f"{note.count} muted" if note.count else "muted"
    epoch = int(note.until.timestamp())
    when = f"<!date^{epoch}^{{time}}|{note.until.strftime('%H:%M')} UTC>"
    who = f" by {_who(note.by)}" if note.by else ""
    return f":mute: {head} until {when}{who} · `{scope}`"


def with_notes(message: SlackMessage, notes: list[Note]) -> SlackMessage:
    """Return *message* with its notes line (replacing an earlier one), within Slack's limits."""
    blocks = [b for b in message.blocks if b.get("block_id") != NOTES_BLOCK_ID]
    if not notes and len(blocks) == len(message.blocks):
        return message
    text = message.text
    if notes and len(blocks) < MAX_BLOCKS:
        shown = notes[:_MAX_NOTES]
        block = bk.context(*(note_line(n) for n in shown))
        block["block_id"] = NOTES_BLOCK_ID
        blocks.append(block)
        text = truncate(text + "\n" + "\n".join(_text(n) for n in shown), MAX_FALLBACK_TEXT)
    return replace(message, blocks=blocks, text=text)
