"""The dashboard's "Mutes" section: each mute in force as "3 muted until 15:00 UTC by ana"."""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..formatting.mute_note import mute_text

__all__ = ["mutes_section"]


def mutes_section(summary: Mapping[str, Any]) -> str:
    """Return the HTML section for :meth:`~slack_batcher.http.mutes.MuteGate.summary`."""
    if "error" in summary:
        problem = html.escape(str(summary["error"]))
        return f'<section id="mutes"><h2>Mutes</h2><p class="muted">{problem}</p></section>'
    total = int(summary.get("events", 0))
    items = []
    for mute in summary.get("active", []):
        line = mute_text(
            int(mute["muted_events"]),
            datetime.fromisoformat(mute["until"]),
            str(mute["created_by"]),
            str(mute["scope"]),
        )
        where = f" in {mute['channel']}" if mute.get("channel") else ""
        items.append(
            f'<li data-mute-id="{html.escape(str(mute["id"]))}">{html.escape(line + where)}</li>'
        )
    body = f"<ul>{''.join(items)}</ul>" if items else '<p class="muted">No mute in force.</p>'
    return (
        f'<section id="mutes"><h2>Mutes</h2>{body}<p class="muted">'
        f"{total} events kept out of Slack by mutes so far (slack-batcher mutes list).</p>"
        "</section>"
    )
