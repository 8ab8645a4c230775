"""ConsoleSender: a dry-run sink that prints each post as readable text for a terminal."""

from __future__ import annotations

import re
import sys
import textwrap
from collections.abc import Callable
from typing import IO, Any

from ..formatting.message import SlackMessage
from ..model.clock import Clock
from .base import PostResult
from .jsonl import FakeTimestamps

__all__ = ["ConsoleSender", "mrkdwn_to_text", "render_post"]

_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")
_SPECIAL = {"!here": "@here", "!channel": "@channel", "!everyone": "@everyone"}


def _link(match: re.Match[str]) -> str:
    target, label = match.group(1), match.group(2)
    if target in _SPECIAL:
        return _SPECIAL[target]
    if target[:1] in "@#":
        return f"{target[0]}{label or target[1:]}"
    return f"{label} ({target})" if label and label != target else target


def mrkdwn_to_text(text: str) -> str:
    """Return *text* as a terminal shows it: links as "label (url)", entities unescaped."""
    text = _LINK.sub(_link, text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _text_of(value: object) -> str:
    if isinstance(value, dict):
        return mrkdwn_to_text(str(value.get("text", "")))
    return ""


def _section(block: dict[str, Any]) -> list[str]:
    lines = _text_of(block.get("text")).splitlines() if block.get("text") else []
    fields = [_text_of(field) for field in block.get("fields") or []]
    lines += [f"  {field}" for field in fields]
    return lines


def _context(block: dict[str, Any]) -> list[str]:
    parts = [_text_of(e) if e.get("type") != "image" else "" for e in block.get("elements", [])]
    return ["  " + "  ·  ".join(part for part in parts if part)]


def _actions(block: dict[str, Any]) -> list[str]:
    buttons = [f"[ {_text_of(e.get('text'))} ]" for e in block.get("elements", [])]
    return ["  " + " ".join(buttons)]


_RENDER: dict[str, Callable[[dict[str, Any], int], list[str]]] = {
    "header": lambda block, width: [_text_of(block.get("text")).upper()],
    "section": lambda block, width: _section(block),
    "context": lambda block, width: _context(block),
    "actions": lambda block, width: _actions(block),
    "divider": lambda block, width: ["─" * min(width, 40)],
    "image": lambda block, width: [f"  [image: {block.get('alt_text', '')}]"],
}


def render_post(
    message: SlackMessage,
    *,
    channel: str,
    ts: str,
    thread_ts: str | None = None,
    width: int = 88,
) -> str:
    """Return the readable text of one post: a rule naming channel and ts, then its blocks.

    Blocks of a type without a rendering fall back to the message's plain ``text``. Replies
    are indented under a "↳" so a thread reads as one.
    """
    where = f"#{channel}" + (f" ↳ reply in thread {thread_ts}" if thread_ts else "")
    title = f"── {where} · {ts} "
    lines = [title + "─" * max(3, width - len(title))]
    rendered: list[str] = []
    for block in message.blocks:
        render = _RENDER.get(str(block.get("type")))
        if render is None:
            rendered = []
            break
        rendered += render(block, width)
    if not rendered:
        rendered = mrkdwn_to_text(message.text).splitlines()
    for line in rendered:
        lines += textwrap.wrap(line, width, subsequent_indent="    ") or [""]
    indent = "    " if thread_ts else ""
    return "\n".join(indent + line for line in lines) + "\n"


class ConsoleSender:
    """Prints each post to *stream* (default: standard output) instead of sending it.

    It invents a Slack-style ``ts`` per post, so continuation pages and related batches
    show as indented thread replies, as they would in Slack (``supports_threads``).
    """

    supports_threads = True

    def __init__(
        self, stream: IO[str] | None = None, *, clock: Clock | None = None, width: int = 88
    ) -> None:
        self._stream = stream
        self._timestamps = FakeTimestamps(clock)
        self._width = width

    def __repr__(self) -> str:
        return "ConsoleSender()"

    async def post(
        self, message: SlackMessage, *, channel: str, thread_ts: str | None = None
    ) -> PostResult:
        """Print this page of *message*; return the invented ts."""
        ts = self._timestamps.next()
        thread = thread_ts if thread_ts is not None else message.thread_ts
        stream = self._stream if self._stream is not None else sys.stdout
        text = render_post(message, channel=channel, ts=ts, thread_ts=thread, width=self._width)
        stream.write(text)
        stream.flush()
        return PostResult(ts=ts, channel=channel)

    async def close(self) -> None:
        """Nothing to release: the stream belongs to the caller."""
