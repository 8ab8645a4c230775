"""Test helpers for slack-batcher and its users: :class:`FakeSlack`, a local fake Slack.

``FakeSlack`` is a Slack-compatible HTTP server on 127.0.0.1 that the real slack_sdk client
(and :class:`~slack_batcher.delivery.SlackSender`) talks to: it answers ``chat.postMessage``,
``chat.update``, ``chat.delete`` and incoming webhooks like Slack, enforces rate limits and
Block Kit limits, injects failures on request and records what it was sent, each message in
its current version with its edit history. See docs/delivery.md.
"""

from ._records import Fault, Post, PostVersion, RecordedRequest
from ._server import FakeSlack

__all__ = ["FakeSlack", "Fault", "Post", "PostVersion", "RecordedRequest"]
