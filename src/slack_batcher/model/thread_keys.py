"""Thread keys: which earlier post a batch should reply to.

A *thread key* names what a batch is about — one pull request, one JIRA ticket, one alert —
so that later batches about the same thing are posted as replies to the first post about
it. It is derived from the messages' data:

===========  ===========================================================
content      key
===========  ===========================================================
pr_update    ``pr:<repository>#<number>``
jira_update  ``jira:<key>``
alert        ``alert:<fingerprint>``, else ``alert:<alertname>:<service>``
deployment   ``deploy:<service or repository>:<version>`` (needs both)
ci_build     ``ci:<repository>:<pipeline or workflow>#<build number or id>``
===========  ===========================================================

A message's ``metadata["thread_key"]`` overrides the derived key (an empty string opts the
message out; the GitHub source gives the push merging a pull request that pull request's
key). A batch has a key only when every message in it has the same one: a digest of three
different pull requests starts its own thread. Keys are scoped by channel when stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .message import BatchableMessage, ContentType

__all__ = ["batch_thread_key", "message_thread_key", "stored_thread_key"]

_MAX_KEY = 200


def _part(data: dict[str, Any], *names: str) -> str | None:
    for name in names:
        value = data.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip().lower()
    return None


def message_thread_key(message: BatchableMessage) -> str | None:
    """Return the thread key of one message, or None when it is about nothing specific."""
    override = message.metadata.get("thread_key")
    if isinstance(override, str):
        return override.strip()[:_MAX_KEY] or None
    data = message.data
    kind = message.content_type
    key: str | None = None
    if kind is ContentType.PR_UPDATE:
        repo, number = _part(data, "repository", "repo"), _part(data, "number", "pr_number")
        key = f"pr:{repo}#{number}" if repo and number else None
    elif kind is ContentType.JIRA_UPDATE:
        ticket = _part(data, "key", "issue_key", "ticket")
        key = f"jira:{ticket}" if ticket else None
    elif kind is ContentType.ALERT:
        fingerprint = _part(data, "fingerprint", "alert_id")
        if fingerprint:
            key = f"alert:{fingerprint}"
        else:
            name = _part(data, "alertname", "alert_name", "name")
            service = _part(data, "service") or ""
            key = f"alert:{name}:{service}" if name else None
    elif kind is ContentType.DEPLOYMENT:
        target = _part(data, "service", "repository", "environment")
        version = _part(data, "version", "sha", "tag")
        key = f"deploy:{target}:{version}" if target and version else None
    elif kind is ContentType.CI_BUILD:
        repo = _part(data, "repository", "project") or ""
        pipeline = _part(data, "pipeline", "workflow") or ""
        build = _part(data, "build_number", "run_id", "build_id")
        key = f"ci:{repo}:{pipeline}#{build}" if build else None
    return key[:_MAX_KEY] if key else None


def batch_thread_key(messages: Iterable[BatchableMessage]) -> str | None:
    """Return the key shared by every message, or None when they differ or have none."""
    keys = {message_thread_key(message) for message in messages}
    if len(keys) != 1:
        return None
    return keys.pop()


def stored_thread_key(channel_id: str, key: str) -> str:
    """Return the key as kept in the store's thread map: threads live inside one channel."""
    return f"{channel_id}\x1f{key}"
