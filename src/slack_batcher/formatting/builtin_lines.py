"""The lines of PR and JIRA items, read straight from the message data in one pass.

The multi-item layout renders every item of every flush; PR and JIRA updates are most of
them. With their built-in item formatters, the functions here read ``message.data`` once
and return what the layout needs — the view's label, title and scope, the item's line and
its fallback-text line — without building the :class:`~.items.ItemView` or calling
:func:`~.render.item_lines` (about a quarter of an item's cost). They return exactly what
``PullRequestFormatter`` / ``JiraFormatter`` followed by ``item_lines`` return:
``tests/test_builtin_lines.py`` checks that on arbitrary payloads and options. Keep the
three in step.
"""

from __future__ import annotations

from collections.abc import Callable

from ..model.message import BatchableMessage, ContentType
from .escape import MAX_LINK_URL, clean
from .items import _RAW_LIMIT, _get, _url
from .options import FormatOptions
from .render import _EMOJI_PAIRS, _HHMM, _NAMES, _STATUSES, _TEXT_PAIRS, TITLE_LIMIT

__all__ = ["BUILTIN_LINES", "ItemLines", "jira_lines", "pr_lines"]

#: (view label, view title, view scope, item line, fallback-text line).
ItemLines = tuple[str, str, str, str, str]
_SCHEMES = ("https://", "http://")


def pr_lines(message: BatchableMessage, options: FormatOptions) -> ItemLines:  # noqa: C901
    """Return a PR event's label, title, scope and lines (PullRequestFormatter + item_lines)."""
    data = message.data
    value = data.get("repository")
    repo = value.strip() if type(value) is str and len(value) <= _RAW_LIMIT else ""
    if not repo:
        repo = _get(data, "repository", "repo")
    value = data.get("number")
    number = str(value) if type(value) is int else _get(data, "number", "pr_number").lstrip("#")
    value = data.get("title")
    raw = value.strip() if type(value) is str and len(value) <= _RAW_LIMIT else ""
    value = data.get("action")
    status = value.strip() if type(value) is str and len(value) <= _RAW_LIMIT else ""
    if not status:
        status = _get(data, "action", "state", "status")
    url = data.get("url")
    if not (  # is_plain_link_url(url), inlined
        type(url) is str
        and len(url) <= MAX_LINK_URL
        and url.startswith(_SCHEMES)
        and url.isprintable()
        and " " not in url
        and "<" not in url
        and ">" not in url
        and "|" not in url
    ):
        url = _url(data, options, "github", f"{repo}/pull/{number}" if repo and number else "")
    raw = raw or _get(data, "title") or message.id
    if "_" in status:
        status = status.replace("_", " ")
    label = f"#{number}" if number else ""
    title = f"{label} {raw}" if label else raw
    # From here on: item_lines, inlined.
    if (
        len(title) > TITLE_LIMIT
        or not title.isprintable()
        or "&" in title
        or "<" in title
        or ">" in title
        or "@" in title
    ):
        title = clean(title, TITLE_LIMIT)
    if url is not None:
        link = f"<{url.replace('&', '&amp;')}|{title}>" if "&" in url else f"<{url}|{title}>"
    else:
        link = title
    mark, plain_mark = (_EMOJI_PAIRS if options.emoji else _TEXT_PAIRS)[message.priority]
    if status:
        status = _STATUSES[status]
    author = message.author
    name = _NAMES[author] if author else ""
    if options.compact:
        line = f"• {mark}{link} — *{status}*" if status else f"• {mark}{link}"
    else:
        moment = message.timestamp
        when = _HHMM[moment.hour * 60 + moment.minute]
        shown = name
        if author and options.user_ids:
            user_id = options.user_ids.get(author)
            if user_id:
                shown = f"<@{user_id}>"
        if status:
            line = (
                f"• {mark}{link} — *{status}* · {shown} · {when}"
                if name
                else f"• {mark}{link} — *{status}* · {when}"
            )
        else:
            line = f"• {mark}{link} · {shown} · {when}" if name else f"• {mark}{link} · {when}"
    if status:
        plain = (
            f"{plain_mark}{title} — {status} ({name})"
            if name
            else f"{plain_mark}{title} — {status}"
        )
    else:
        plain = f"{plain_mark}{title} ({name})" if name else plain_mark + title
    return label, raw, repo, line, plain


def jira_lines(message: BatchableMessage, options: FormatOptions) -> ItemLines:  # noqa: C901
    """Return a JIRA update's label, title, scope and lines (JiraFormatter + item_lines)."""
    data = message.data
    value = data.get("key")
    key = value.strip() if type(value) is str and len(value) <= _RAW_LIMIT else ""
    if not key:
        key = _get(data, "key", "issue_key", "ticket")
    value = data.get("summary")
    raw = value.strip() if type(value) is str and len(value) <= _RAW_LIMIT else ""
    if not raw:
        raw = _get(data, "summary", "title")
    url = data.get("url")
    if not (  # is_plain_link_url(url), inlined
        type(url) is str
        and len(url) <= MAX_LINK_URL
        and url.startswith(_SCHEMES)
        and url.isprintable()
        and " " not in url
        and "<" not in url
        and ">" not in url
        and "|" not in url
    ):
        url = _url(data, options, "jira", f"browse/{key}" if key else "")
    raw = raw or message.id
    value = data.get("status")  # _jira_status(data), inlined
    status = value.strip() if type(value) is str and len(value) <= _RAW_LIMIT else ""
    if not status and value is not None:
        status = _get(data, "status")
    value = data.get("previous_status")
    previous = value.strip() if type(value) is str and len(value) <= _RAW_LIMIT else ""
    if not previous:
        previous = _get(data, "previous_status", "from_status")
    if previous and status and previous != status:
        status = f"{previous} → {status}"
    value = data.get("project")  # _get1(data, "project"), inlined
    scope = value.strip() if type(value) is str and len(value) <= _RAW_LIMIT else ""
    if not scope and value is not None:
        scope = _get(data, "project")
    title = f"{key} {raw}" if key else raw
    # From here on: item_lines, inlined (as in pr_lines).
    if (
        len(title) > TITLE_LIMIT
        or not title.isprintable()
        or "&" in title
        or "<" in title
        or ">" in title
        or "@" in title
    ):
        title = clean(title, TITLE_LIMIT)
    if url is not None:
        link = f"<{url.replace('&', '&amp;')}|{title}>" if "&" in url else f"<{url}|{title}>"
    else:
        link = title
    mark, plain_mark = (_EMOJI_PAIRS if options.emoji else _TEXT_PAIRS)[message.priority]
    if status:
        status = _STATUSES[status]
    author = message.author
    name = _NAMES[author] if author else ""
    if options.compact:
        line = f"• {mark}{link} — *{status}*" if status else f"• {mark}{link}"
    else:
        moment = message.timestamp
        when = _HHMM[moment.hour * 60 + moment.minute]
        shown = name
        if author and options.user_ids:
            user_id = options.user_ids.get(author)
            if user_id:
                shown = f"<@{user_id}>"
        if status:
            line = (
                f"• {mark}{link} — *{status}* · {shown} · {when}"
                if name
                else f"• {mark}{link} — *{status}* · {when}"
            )
        else:
            line = f"• {mark}{link} · {shown} · {when}" if name else f"• {mark}{link} · {when}"
    if status:
        plain = (
            f"{plain_mark}{title} — {status} ({name})"
            if name
            else f"{plain_mark}{title} — {status}"
        )
    else:
        plain = f"{plain_mark}{title} ({name})" if name else plain_mark + title
    return key, raw, scope, line, plain


#: The one-pass reader of each content type that has one (with its built-in formatter only).
BUILTIN_LINES: dict[ContentType, Callable[[BatchableMessage, FormatOptions], ItemLines]] = {
    ContentType.PR_UPDATE: pr_lines,
    ContentType.JIRA_UPDATE: jira_lines,
}
