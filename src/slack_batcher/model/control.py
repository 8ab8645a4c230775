"""Controls on Slack posts (Mute, Acknowledge, Unmute) and the signed values they carry.

A control's ``value`` says what a click acts on: the action, the channel of the post and
the scope (see :mod:`.mute`). Slack sends the value back as it was posted, but anyone who
can reach the interactivity URL with a valid Slack signature (another app of the same
workspace, a user crafting a payload through a compromised app) could send any value; so
the service never trusts it as sent: each value carries an HMAC-SHA256 tag made with a key
derived from the Slack signing secret (:class:`ControlSigner`), and a click is honoured
only when the tag matches and the click came from the channel the value names.

A value is ``v1.<base64url of [action, channel, digest key, scope]>.<tag>``; the tag is 16
bytes of HMAC, base64url (22 characters), so a value stays far below Block Kit's 2,000
characters for a button.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass

__all__ = ["ACTIONS", "Control", "ControlSigner", "action_id", "mute_minutes"]

#: The actions a control can carry: ``mute:<minutes>``, ``ack``, ``unmute``.
ACTIONS = ("mute:60", "mute:240", "mute:1440", "ack", "unmute")
_PREFIX = "sb:"
_TAG_BYTES = 16
_VERSION = "v1"


def action_id(action: str) -> str:
    """Return the Block Kit ``action_id`` of *action* (``sb:mute:60``)."""
    return _PREFIX + action


def mute_minutes(action: str) -> int | None:
    """Return the minutes of a ``mute:<minutes>`` action, else None."""
    kind, _, minutes = action.partition(":")
    return int(minutes) if kind == "mute" and minutes.isdigit() else None


@dataclass(frozen=True, slots=True)
class Control:
    """What a verified control value says: *action* on *scope*, for a post in *channel*.

    *key* is the digest key of the post (to find and re-render it after the click).
    """

    action: str
    channel: str
    key: str
    scope: str


class ControlSigner:
    """Signs and verifies control values with a key derived from the Slack signing secret."""

    def __init__(self, signing_secret: str) -> None:
        if not signing_secret:
            raise ValueError("signing_secret: required to sign controls")
        self._key = hmac.new(
            signing_secret.encode(), b"slack-batcher controls v1", hashlib.sha256
        ).digest()

    def _tag(self, text: str) -> str:
        digest = hmac.new(self._key, text.encode(), hashlib.sha256).digest()[:_TAG_BYTES]
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def value(self, action: str, channel: str, key: str, scope: str) -> str:
        """Return the signed value of a control doing *action* on *scope* in *channel*."""
        if action not in ACTIONS:
            raise ValueError(f"action: one of {', '.join(ACTIONS)}, got {action!r}")
        raw = json.dumps([action, channel, key, scope], separators=(",", ":")).encode()
        body = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        return f"{_VERSION}.{body}.{self._tag(body)}"

    def verify(self, value: str) -> Control | None:
        """Return the control *value* carries, or None unless this service signed it."""
        version, _, rest = value.partition(".")
        body, _, tag = rest.partition(".")
        if version != _VERSION or not body:
            return None
        if not hmac.compare_digest(self._tag(body).encode(), tag.encode("utf-8", "replace")):
            return None
        try:
            fields = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            return None
        if not isinstance(fields, list) or len(fields) != 4:
            return None
        if not all(isinstance(f, str) for f in fields) or fields[0] not in ACTIONS:
            return None
        action, channel, key, scope = fields
        return Control(action, channel, key, scope)
