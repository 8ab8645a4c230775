"""The dashboard's "Sources" table: webhook deliveries per source, by outcome."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from ..sources.counters import OUTCOMES

__all__ = ["sources_section"]

_COLUMNS = ("messages", *OUTCOMES)


def _cell(label: str, value: object) -> str:
    # data-label: on a phone the table's rows become labelled cards (dashboard_css).
    return f'<td data-label="{html.escape(label)}">{html.escape(str(value))}</td>'


def sources_section(summary: Mapping[str, Mapping[str, Any]]) -> str:
    """Return the HTML section for per-source figures (see ``SourcesState.summary``)."""
    if not summary:
        return (
            '<section id="sources"><h2>Sources</h2><p class="muted">No webhook source is '
            "enabled: set a secret under [sources.github], [sources.jira] or "
            "[sources.alertmanager] (docs/sources.md).</p></section>"
        )
    head = "".join(f"<th>{html.escape(name)}</th>" for name in _COLUMNS)
    rows = []
    for source, figures in summary.items():
        state = "enabled" if figures.get("enabled") else "disabled"
        cells = "".join(_cell(name, int(figures.get(name, 0))) for name in _COLUMNS)
        rows.append(
            f'<tr data-source="{html.escape(source)}"><td data-label="">'
            f"<b>{html.escape(source)}</b></td>{_cell('state', state)}{cells}</tr>"
        )
    return (
        '<section id="sources"><h2>Sources</h2><table><thead><tr><th>source</th>'
        f"<th>state</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></section>"
    )
