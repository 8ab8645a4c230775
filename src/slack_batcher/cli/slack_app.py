"""``slack-batcher slack manifest --url https://your.host``: a Slack app in one step.

Prints a Slack app manifest (JSON, which Slack's "Create an app → From a manifest" takes as
it is): a bot user, the fewest bot scopes the features in use need, and the interactivity
request URL of this service. See docs/slack-app.md for the walk-through.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import click

from .output import EXIT_USAGE, fail, out

__all__ = ["build_manifest", "slack"]

#: Where Slack sends clicks on the digests' controls (see ``http/interactions.py``).
INTERACTIONS_PATH = "/v1/slack/interactions"


def build_manifest(
    url: str,
    *,
    name: str = "slack-batcher",
    interactivity: bool = True,
    public_channels: bool = False,
    lookup_emails: bool = False,
) -> dict[str, Any]:
    """Return the manifest for a service reachable at *url* (https).

    Scopes: ``chat:write`` (post and edit the digests); ``chat:write.public`` only with
    *public_channels* (post to public channels the bot was not invited to);
    ``users:read`` and ``users:read.email`` only with *lookup_emails* (map Jira emails to
    Slack users). Interactivity (the buttons) needs no scope, only the request URL.
    """
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc:
        raise ValueError(f"--url: Slack calls only https URLs, got {url!r}")
    scopes = ["chat:write"]
    if public_channels:
        scopes.append("chat:write.public")
    if lookup_emails:
        scopes += ["users:read", "users:read.email"]
    settings: dict[str, Any] = {
        "org_deploy_enabled": False,
        "socket_mode_enabled": False,
        "token_rotation_enabled": False,
    }
    if interactivity:
        base = url.rstrip("/")
        settings["interactivity"] = {"is_enabled": True, "request_url": base + INTERACTIONS_PATH}
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": name,
            "description": "Batched digests of GitHub, Jira and alert events, with mute buttons",
        },
        "features": {"bot_user": {"display_name": name, "always_online": False}},
        "oauth_config": {"scopes": {"bot": scopes}},
        "settings": settings,
    }


@click.group("slack")
def slack() -> None:
    """Set up the Slack app the service posts as."""


@slack.command("manifest")
@click.option("--url", required=True, help="Public https base URL of this service.")
@click.option("--name", default="slack-batcher", show_default=True, help="The app's name.")
@click.option("--no-interactivity", is_flag=True, help="No buttons: leave the request URL out.")
@click.option(
    "--public-channels",
    is_flag=True,
    help="Post to public channels without inviting the bot (adds chat:write.public).",
)
@click.option(
    "--lookup-emails",
    is_flag=True,
    help="Find Slack users by email (adds users:read, users:read.email).",
)
def manifest(
    url: str, name: str, no_interactivity: bool, public_channels: bool, lookup_emails: bool
) -> None:
    """Print a Slack app manifest to paste into api.slack.com/apps → From a manifest."""
    try:
        built = build_manifest(
            url,
            name=name,
            interactivity=not no_interactivity,
            public_channels=public_channels,
            lookup_emails=lookup_emails,
        )
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
    out.print_json(json.dumps(built))
