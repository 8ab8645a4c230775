"""The lines of PR and JIRA items, read straight from the message data in one pass.

The multi-item layout renders every item of every flush; PR and JIRA updates are most of
them. With their built-in item formatters, the functions here read ``message.data`` once
and return what the layout needs — the view's label, title and scope, the item's line and
its fallback-text line — without building the :class:`~.items.ItemView` or calling
:func:`~.render.item_lines` on it; both end in :func:`~.render.lines_of`. They return
exactly what ``PullRequestFormatter`` / ``JiraFormatter`` followed by ``item_lines``
return: ``tests/test_builtin_lines.py`` checks that on arbitrary payloads and options.
Keep the readers here in step with those formatters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeGuard

from ..model.message import BatchableMessage, ContentType
from .escape import MAX_LINK_URL
from .items import _RAW_LIMIT, _get, _url
from .options import FormatOptions
from .render import lines_of

__all__ = ["BUILTIN_LINES", "ItemLines", "jira_lines", "pr_lines"]

#: (view label, view title, view scope, item line, fallback-text line).
ItemLines = tuple[str, str, str, str, str]
_SCHEMES = ("https://", "http://")


def _plain_link(url: object) -> TypeGuard[str]:
    """Return True for a URL a link can hold as it is (``is_plain_link_url``, cheaper)."""
    return (
        type(url) is str
        and len(url) <= MAX_LINK_URL
        and url.startswith(_SCHEMES)
        and url.isprintable()
        and " " not in url
        and "<" not in url
        and ">" not in url
        and "|" not in url
    )


def _short(value: object) -> str:
    """Return *value* stripped when it is a short enough string (``_get``'s common case)."""
    return value.strip() if type(value) is str and len(value) <= _RAW_LIMIT else ""


def pr_lines(message: BatchableMessage, options: FormatOptions) -> ItemLines:
    """Return a PR event's label, title, scope and lines (PullRequestFormatter + item_lines)."""
    data = message.data
    value = data.get("repository")
    repo = _short(value)
    if not repo:
        repo = _get(data, "repository", "repo")
    value = data.get("number")
    number = str(value) if type(value) is int else _get(data, "number", "pr_number").lstrip("#")
    value = data.get("title")
    raw = _short(value)
    value = data.get("action")
    status = _short(value)
    if not status:
        status = _get(data, "action", "state", "status")
    url = data.get("url")
    if not _plain_link(url):
        url = _url(data, options, "github", f"{repo}/pull/{number}" if repo and number else "")
    raw = raw or _get(data, "title") or message.id
    if "_" in status:
        status = status.replace("_", " ")
    label = f"#{number}" if number else ""
    line, plain = lines_of(message, options, label, raw, url, status)
    return label, raw, repo, line, plain


def jira_lines(message: BatchableMessage, options: FormatOptions) -> ItemLines:
    """Return a JIRA update's label, title, scope and lines (JiraFormatter + item_lines)."""
    data = message.data
    value = data.get("key")
    key = _short(value)
    if not key:
        key = _get(data, "key", "issue_key", "ticket")
    value = data.get("summary")
    raw = _short(value)
    if not raw:
        raw = _get(data, "summary", "title")
    url = data.get("url")
    if not _plain_link(url):
        url = _url(data, options, "jira", f"browse/{key}" if key else "")
    raw = raw or message.id
    value = data.get("status")  # _jira_status(data), inlined
    status = _short(value)
    if not status and value is not None:
        status = _get(data, "status")
    value = data.get("previous_status")
    previous = _short(value)
    if not previous:
        previous = _get(data, "previous_status", "from_status")
    if previous and status and previous != status:
        status = f"{previous} → {status}"
    value = data.get("project")  # _get1(data, "project"), inlined
    scope = _short(value)
    if not scope and value is not None:
        scope = _get(data, "project")
    line, plain = lines_of(message, options, key, raw, url, status)
    return key, raw, scope, line, plain


#: The one-pass reader of each content type that has one (with its built-in formatter only).
BUILTIN_LINES: dict[ContentType, Callable[[BatchableMessage, FormatOptions], ItemLines]] = {
    ContentType.PR_UPDATE: pr_lines,
    ContentType.JIRA_UPDATE: jira_lines,
}
