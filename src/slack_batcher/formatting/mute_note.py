"""The short line a digest (and the dashboard) shows for a mute: "3 muted until 15:00 by @ana".

A mute keeps its events out of Slack; the digest they would have joined says so, so nobody
mistakes silence for calm. The time is Slack's ``<!date^…>`` token (each reader sees their
own time zone; the fallback says UTC); who muted is a user mention when it is a Slack user
id, otherwise escaped text.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime

from . import blocks as bk
from .escape import clean_short, truncate
from .limits import MAX_BLOCKS, MAX_FALLBACK_TEXT
from .message import SlackMessage

__all__ = ["MuteNote", "mute_line", "mute_text", "with_mute_notes"]

_USER_ID = re.compile(r"U[A-Z0-9]{2,20}|W[A-Z0-9]{2,20}")

#: (events kept, until, who, scope) of one mute.
MuteNote = tuple[int, datetime, str, str]


def mute_text(count: int, until: datetime, by: str, scope: str) -> str:
    """Return the plain line: ``3 muted until 15:00 UTC by ana (alert:x)``."""
    head = f"{count} muted" if count else "muted"
    who = f" by {by}" if by else ""
    return f"{head} until {until.strftime('%H:%M')} UTC{who} ({scope})"


def mute_line(count: int, until: datetime, by: str, scope: str) -> str:
    """Return the mrkdwn line: the time as a ``<!date>`` token, *by* as a mention or text."""
    head = f"{count} muted" if count else "muted"
    epoch = int(until.timestamp())
    when = f"<!date^{epoch}^{{time}}|{until.strftime('%H:%M')} UTC>"
    who = ""
    if by:
        who = f" by <@{by}>" if _USER_ID.fullmatch(by) else f" by {clean_short(by, 80)}"
    return f":mute: {head} until {when}{who} · `{clean_short(scope, 120)}`"


def with_mute_notes(message: SlackMessage, notes: list[MuteNote]) -> SlackMessage:
    """Return *message* with one context line per mute (within Slack's block limit)."""
    if not notes:
        return message
    blocks = list(message.blocks)
    room = MAX_BLOCKS - len(blocks)
    if room <= 0:
        return message
    lines = [mute_line(*note) for note in notes[:10]]
    blocks.append(bk.context(*lines))
    text = message.text + "\n" + "\n".join(mute_text(*note) for note in notes[:10])
    text = truncate(text, MAX_FALLBACK_TEXT)
    return replace(message, blocks=blocks, text=text)
