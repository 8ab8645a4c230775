"""``slack-batcher mutes list|add|remove``: manage mutes on a running server (``/v1/mutes``)."""

from __future__ import annotations

from typing import Any

import click

from .client import _call, _client_options, _print_json
from .output import out, print_table

__all__ = ["mutes"]


@click.group("mutes")
def mutes() -> None:
    """Mute a scope for a while: its events are kept and counted, not posted."""


@mutes.command("list")
@_client_options
@click.option("--all", "show_all", is_flag=True, help="Ended mutes too.")
@click.option("--json", "as_json", is_flag=True, help="Print the raw JSON.")
def mutes_list(url: str, token: str | None, show_all: bool, as_json: bool) -> None:
    """List the mutes in force, with the events each kept out of Slack."""
    params = {"all": "true"} if show_all else None
    found: list[dict[str, Any]] = _call(
        url, token, lambda client: client.request("GET", "/v1/mutes", params=params)
    )["mutes"]
    if as_json:
        _print_json(found)
        return
    rows = [
        [
            mute["id"],
            ("(acknowledged) " if mute.get("kind") == "ack" else "") + mute["scope"],
            mute["channel"] or "(all)",
            mute["until"] if mute["active"] else f"ended ({mute['until']})",
            mute["created_by"],
            str(mute["muted_events"]),
            ("critical too; " if mute["covers_critical"] else "") + mute["reason"],
        ]
        for mute in found
    ]
    print_table(
        f"{len(found)} mutes",
        [
            ("id", "id"),
            ("scope", "id"),
            ("channel", "short"),
            ("until", "short"),
            ("by", "short"),
            ("muted events", "short"),
            ("reason", "text"),
        ],
        rows,
    )


@mutes.command("add")
@_client_options
@click.argument("scope")
@click.option(
    "--for",
    "minutes",
    type=click.IntRange(1, 30 * 24 * 60),
    default=60,
    show_default=True,
    help="Minutes the mute holds.",
)
@click.option("--channel", help="Only in this channel (default: every channel).")
@click.option("--reason", default="", help="Why (shown with the mute).")
@click.option("--by", default="cli", show_default=True, help="Who mutes.")
@click.option("--critical", is_flag=True, help="Also keep critical events out.")
def mutes_add(
    url: str,
    token: str | None,
    scope: str,
    minutes: int,
    channel: str | None,
    reason: str,
    by: str,
    critical: bool,
) -> None:
    """Mute SCOPE: alert:<alertname>[/<service>], pr:<owner/repo>#<n>, jira:<KEY>, digest:<key>."""
    body = {
        "scope": scope,
        "minutes": minutes,
        "channel": channel,
        "reason": reason,
        "by": by,
        "covers_critical": critical,
    }
    mute = _call(url, token, lambda client: client.request("POST", "/v1/mutes", json=body))
    where = f"in {mute['channel']}" if mute["channel"] else "in every channel"
    out.print(
        f"{mute['id']}: {mute['scope']} muted {where} until {mute['until']}",
        markup=False,
        soft_wrap=True,
    )


@mutes.command("remove")
@_client_options
@click.argument("mute_ids", nargs=-1, required=True)
def mutes_remove(url: str, token: str | None, mute_ids: tuple[str, ...]) -> None:
    """End mutes now (their kept events stay counted)."""
    for mute_id in mute_ids:
        mute = _call(
            url, token, lambda client, mid=mute_id: client.request("DELETE", f"/v1/mutes/{mid}")
        )
        out.print(
            f"{mute_id}: ended; it kept {mute['muted_events']} events out of Slack",
            markup=False,
            soft_wrap=True,
        )
