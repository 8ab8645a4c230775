"""Shared pieces of every layout: item lines, priority markers, authors and times.

Everything returned here is safe mrkdwn: user strings go through :func:`clean` (escaped,
one line, cut with "…"), links are built only from http(s) URLs, and the only mention is
an author found in ``FormatOptions.user_ids``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TypeGuard

from ..model.message import PRIORITY_SCORES, BatchableMessage
from .escape import MAX_LINK_URL, CleanCache, clean, href, is_http_url
from .items import ItemView
from .options import FormatOptions

__all__ = [
    "author_text",
    "authors_text",
    "item_line",
    "item_lines",
    "item_link",
    "item_plain",
    "lines_of",
    "marker",
    "stamp",
    "time_span",
]

TITLE_LIMIT = 150
STATUS_LIMIT = 60
NAME_LIMIT = 60
PLAIN_TITLE_LIMIT = 120

#: Escaped authors and statuses as shown (they repeat: each is escaped once).
_NAMES = CleanCache(NAME_LIMIT)
_STATUSES = CleanCache(STATUS_LIMIT)
_EMOJI_MARKS = {"critical": ":red_circle: ", "high": ":large_orange_circle: "}
_TEXT_MARKS = {"critical": "[CRITICAL] ", "high": "[HIGH] "}
_PLAIN = FormatOptions(compact=True)
#: (item-line marker, fallback-text marker) by priority, with emoji on and off.
_EMOJI_PAIRS = {p: (_EMOJI_MARKS.get(p, ""), _TEXT_MARKS.get(p, "")) for p in PRIORITY_SCORES}
_TEXT_PAIRS = {p: (_TEXT_MARKS.get(p, ""), _TEXT_MARKS.get(p, "")) for p in PRIORITY_SCORES}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def marker(priority: str, options: FormatOptions) -> str:
    """Return the priority marker (critical and high only, so they stand out), or ``""``."""
    return (_EMOJI_MARKS if options.emoji else _TEXT_MARKS).get(priority, "")


def author_text(author: str, options: FormatOptions) -> str:
    """Return the author as a mention when mapped in ``user_ids``, else as escaped text."""
    user_id = options.user_ids.get(author) if options.user_ids else None
    return f"<@{user_id}>" if user_id else _NAMES[author]


def authors_text(authors: Sequence[str], options: FormatOptions, shown: int = 3) -> str:
    """Return up to *shown* authors, then "+N more"."""
    if options.user_ids:
        text = ", ".join([author_text(a, options) for a in authors[:shown]])
    else:  # no mentions configured: each author's escaped name
        text = ", ".join(map(_NAMES.__getitem__, authors[:shown]))
    extra = len(authors) - shown
    return f"{text} +{extra} more" if extra > 0 else text


#: "09:05" for each minute of the day (hour * 60 + minute).
_HHMM = tuple(f"{h:02d}:{m:02d}" for h in range(24) for m in range(60))


def _hhmm(moment: datetime) -> str:
    return _HHMM[moment.hour * 60 + moment.minute]


def _day(moment: datetime) -> str:
    return f"{_MONTHS[moment.month - 1]} {moment.day}"


def stamp(moment: datetime) -> str:
    """Return ``Mar 2, 09:05 UTC`` (locale-independent, so output is deterministic)."""
    return f"{_day(moment)}, {_hhmm(moment)} UTC"


def time_span(start: datetime | None, end: datetime | None) -> str:
    """Return ``Mar 2, 09:00–09:12 UTC``, or one time, or two dated times across days."""
    if start is None or end is None:
        return ""
    if start.day != end.day or start.month != end.month or start.year != end.year:
        return f"{_day(start)}, {_hhmm(start)} – {_day(end)}, {_hhmm(end)} UTC"
    first = _HHMM[start.hour * 60 + start.minute]
    last = _HHMM[end.hour * 60 + end.minute]
    day = f"{_MONTHS[start.month - 1]} {start.day}"
    return f"{day}, {first} UTC" if first == last else f"{day}, {first}–{last} UTC"


def _title(view: ItemView) -> str:
    if view.label:
        return f"{view.label} {view.title}"
    return view.title


def _linkable(url: str | None) -> TypeGuard[str]:
    # Checked here too: a user's item formatter may hand over any string as a URL.
    return url is not None and is_http_url(url, MAX_LINK_URL)


def item_link(view: ItemView) -> str:
    """Return the item's label and title, linked when it has a URL."""
    text = clean(_title(view), TITLE_LIMIT)
    url = view.url
    return f"<{href(url)}|{text}>" if _linkable(url) else text


def item_lines(
    message: BatchableMessage, view: ItemView, options: FormatOptions, url_checked: bool = False
) -> tuple[str, str]:
    """Return the item's line and its fallback-text line, escaping each piece once.

    That line has the marker, link, status and (unless compact) author and time; the
    fallback line has a plain marker, the title, status and author, and no link or mention.
    *url_checked*: the view comes from a built-in item formatter, whose URL is checked.
    """
    url = view.url
    # Checked here too (is_http_url): a user's item formatter may hand over any URL.
    if url is not None and not (url_checked or is_http_url(url, MAX_LINK_URL)):
        url = None
    return lines_of(message, options, view.label, view.title, url, view.status, view.place)


def lines_of(
    message: BatchableMessage,
    options: FormatOptions,
    label: str,
    title: str,
    url: str | None,
    status: str,
    place: str = "",
) -> tuple[str, str]:
    """Return :func:`item_lines` from an item's pieces; *url* is a checked link or None."""
    title = f"{label} {title}" if label else title
    # clean(title, TITLE_LIMIT), inlined for the common case: short, nothing to escape.
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
    # An authorless event's place (an alert's instance) stands where the author would.
    name = _NAMES[author] if author else (_NAMES[place] if place else "")
    # Each line is assembled once (one f-string), not grown piece by piece.
    if options.compact:
        line = f"• {mark}{link} — *{status}*" if status else f"• {mark}{link}"
    else:
        moment = message.timestamp
        when = _HHMM[moment.hour * 60 + moment.minute]
        name_shown = name
        if author and options.user_ids:
            user_id = options.user_ids.get(author)
            if user_id:
                name_shown = f"<@{user_id}>"
        if status:
            if name:
                line = f"• {mark}{link} — *{status}* · {name_shown} · {when}"
            else:
                line = f"• {mark}{link} — *{status}* · {when}"
        elif name:
            line = f"• {mark}{link} · {name_shown} · {when}"
        else:
            line = f"• {mark}{link} · {when}"
    if status:
        plain = (
            f"{plain_mark}{title} — {status} ({name})"
            if name
            else f"{plain_mark}{title} — {status}"
        )
    else:
        plain = f"{plain_mark}{title} ({name})" if name else plain_mark + title
    return line, plain


def item_line(message: BatchableMessage, view: ItemView, options: FormatOptions) -> str:
    """Return one item line: marker, link, status and (unless compact) author and time."""
    return item_lines(message, view, options)[0]


def item_plain(message: BatchableMessage, view: ItemView) -> str:
    """Return the item as one line of fallback text (escaped, no links, no mentions)."""
    return item_lines(message, view, _PLAIN)[1]


def counts_text(counts: Iterable[tuple[str, str, int]]) -> str:
    """Return ``3 PR updates, 1 alert`` from (singular, plural, count) triples."""
    return ", ".join([f"{n} {one if n == 1 else many}" for one, many, n in counts])
