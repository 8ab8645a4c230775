"""The dashboard's "Sources" table: webhook deliveries per source, by outcome."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from ..sources.counters import OUTCOMES

__all__ = ["sources_section"]


def sources_section(summary: Mapping[str, Mapping[str, Any]]) -> str:
    """Return the HTML section for per-source figures (see ``SourcesState.summary``)."""
    if not summary:
        return (
            '<section id="sources"><h2>Sources</h2><p class="muted">No webhook source is '
            "enabled: set a secret under [sources.github], [sources.jira] or "
            "[sources.alertmanager] (docs/sources.md).</p></section>"
        )
    head = "".join(f"<th>{html.escape(o)}</th>" for o in ("messages", *OUTCOMES))
    rows = []
    for source, figures in summary.items():
        state = "enabled" if figures.get("enabled") else "disabled"
        cells = "".join(f"<td>{int(figures.get(name, 0))}</td>" for name in ("messages", *OUTCOMES))
        rows.append(
            f'<tr data-source="{html.escape(source)}"><td>{html.escape(source)}</td>'
            f"<td>{state}</td>{cells}</tr>"
        )
    return (
        '<section id="sources"><h2>Sources</h2><div style="overflow-x:auto"><table><thead>'
        f"<tr><th>source</th><th>state</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody>"
        "</table></div></section>"
    )
