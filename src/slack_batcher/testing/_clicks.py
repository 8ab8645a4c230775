"""Clicks on a posted message's controls, sent the way Slack sends them.

:func:`block_actions_request` finds a control (button or overflow option) in a post's
blocks and returns the request Slack would send to the app's interactivity URL: a form
body ``payload=<block_actions JSON>`` signed with the app's signing secret
(``X-Slack-Signature: v0=<HMAC-SHA256 of v0:{timestamp}:{body}>``), with a ``response_url``
that :class:`~slack_batcher.testing.FakeSlack` serves and records.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from ._records import Post

__all__ = ["block_actions_request", "find_control"]


def _elements(blocks: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for block in blocks:
        block_id = str(block.get("block_id", ""))
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if isinstance(element, dict):
                yield block_id, element
        accessory = block.get("accessory")
        if isinstance(accessory, dict):
            yield block_id, accessory


def find_control(post: Post, action_id: str) -> tuple[str, dict[str, Any]]:
    """Return (block id, element) of the control *action_id* in *post*; LookupError if none."""
    for block_id, element in _elements(post.blocks):
        if element.get("action_id") == action_id:
            return block_id, element
    found = sorted({str(e.get("action_id")) for _, e in _elements(post.blocks)})
    raise LookupError(f"no control {action_id!r} in the post {post.ts} (it has: {found})")


def block_actions_request(
    post: Post,
    action_id: str,
    *,
    signing_secret: str,
    response_url: str,
    timestamp: int,
    user: str = "U0TESTER",
    user_name: str = "tester",
    channel: str | None = None,
    option: str | None = None,
    value: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """Return (body, headers) of Slack's request for a click on *action_id* in *post*.

    *channel* overrides where the click seems to come from; *option* picks an overflow
    option by its value; *value* replaces the control's value (a forged click).
    """
    block_id, element = find_control(post, action_id)
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "type": element.get("type", "button"),
        "action_ts": f"{timestamp}.000100",
    }
    if element.get("type") == "overflow":
        options = element.get("options", [])
        chosen = next((o for o in options if o.get("value") == option), options[0])
        action["selected_option"] = {**chosen, "value": value or chosen.get("value")}
    else:
        action["text"] = element.get("text")
        action["value"] = value if value is not None else element.get("value")
    where = channel or post.channel
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user_name, "name": user_name, "team_id": "T0FAKE"},
        "api_app_id": "A0FAKE",
        "container": {
            "type": "message",
            "message_ts": post.ts,
            "channel_id": where,
            "is_ephemeral": False,
        },
        "trigger_id": f"{timestamp}.{secrets.randbelow(10**9)}",
        "team": {"id": "T0FAKE", "domain": "fake"},
        "channel": {"id": where, "name": where.lstrip("#")},
        "message": {"type": "message", "ts": post.ts, "text": post.text, "blocks": post.blocks},
        "response_url": response_url,
        "actions": [action],
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    stamp = str(timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=stamp, body=body)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature or "",
    }
    return body, headers
