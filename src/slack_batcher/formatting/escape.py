"""Safe mrkdwn: user text can never ping, mention or forge a link."""

from __future__ import annotations

import functools
import re
from typing import TypeGuard

__all__ = [
    "CleanCache",
    "clean",
    "clean_short",
    "escape_mrkdwn",
    "href",
    "is_http_url",
    "link",
    "one_line",
    "truncate",
]

_CONTROL = {code: None for code in range(32) if code not in (9, 10)} | {127: None}
_WHITESPACE = {9: " ", 10: " ", 11: " ", 12: " ", 13: " ", 0x85: " ", 0x2028: " ", 0x2029: " "}
_ONE_LINE = _CONTROL | _WHITESPACE
#: Bare broadcast words: Slack ignores them in our payloads (verbatim text, no link_names),
#: but a word joiner after the "@" keeps them inert even if a client parses them.
_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
_SCHEMES = ("https://", "http://")
#: Longest URL we turn into a link; longer ones are shown as text (real links are far shorter).
MAX_LINK_URL = 1000


def _escape(text: str) -> str:
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "@" in text:
        text = _BROADCAST.sub("@\u2060\\1", text)
    return text


def escape_mrkdwn(value: object) -> str:
    """Escape ``&``, ``<`` and ``>`` (Slack's three control characters) and drop control codes.

    After escaping, ``<!channel>``, ``<@U123>`` or ``<https://x|y>`` in user text shows as
    text and does nothing. A bare ``@channel``/``@here``/``@everyone`` gets an invisible
    word joiner after the ``@`` so it can never broadcast.
    """
    text = value if type(value) is str else str(value)
    if not text.isprintable():
        text = text.translate(_CONTROL)
    return _escape(text)


def one_line(value: object) -> str:
    """Return *value* as text on one line: newlines and tabs become spaces, controls go."""
    text = value if type(value) is str else str(value)
    if not text.isprintable():
        text = text.translate(_ONE_LINE)
    return text


def clean(value: object, limit: int) -> str:
    """Return *value* as escaped mrkdwn on one line, at most *limit* characters.

    The raw text is cut before escaping, so a 100k-character title costs no more than a
    short one; the escaped result is cut again without splitting an entity.
    """
    text = value if type(value) is str else str(value)
    if len(text) > limit:
        text = text[: limit + 1]
    if not text.isprintable():
        text = text.translate(_ONE_LINE)
    if "&" in text or "<" in text or ">" in text or "@" in text:
        text = _escape(text)
    return text if len(text) <= limit else truncate(text, limit)


@functools.lru_cache(maxsize=4096)
def _clean_cached(value: str, limit: int) -> str:
    return clean(value, limit)


def clean_short(value: str, limit: int) -> str:
    """Like :func:`clean`, cached for short strings that repeat (authors, statuses, scopes)."""
    if len(value) <= 64:
        return _clean_cached(value, limit)
    return clean(value, limit)


class CleanCache(dict[str, str]):
    """``cache[text]`` is ``clean(text, limit)``, remembered for short strings that repeat.

    For authors, statuses and scopes: a hit is one dict lookup, cheaper than a call to
    :func:`clean_short`. Holds at most ``size`` entries (emptied when full).
    """

    __slots__ = ("limit", "size")

    def __init__(self, limit: int, size: int = 4096) -> None:
        super().__init__()
        self.limit = limit
        self.size = size

    def __missing__(self, text: str) -> str:
        cleaned = clean(text, self.limit)
        if len(text) <= 64:
            if len(self) >= self.size:
                self.clear()
            self[text] = cleaned
        return cleaned


def is_http_url(value: object, max_length: int = 3000) -> TypeGuard[str]:
    """Return True for an http(s) URL with no characters that could break out of a link."""
    if type(value) is not str or len(value) > max_length:
        return False
    if not value.startswith(_SCHEMES) and not value[:8].lower().startswith(_SCHEMES):
        return False
    return (
        value.isprintable()
        and " " not in value
        and "<" not in value
        and ">" not in value
        and "|" not in value
    )


def is_plain_link_url(value: object) -> TypeGuard[str]:
    """Return True for the common link URL that needs no further work.

    A lower-case http(s) URL within ``MAX_LINK_URL`` with nothing that could break out of a
    link: :func:`is_http_url` would accept it as it is. The formatters test this first, on
    every item, and fall back to the general checks when it is False.
    """
    return (
        type(value) is str
        and len(value) <= MAX_LINK_URL
        and value.startswith(_SCHEMES)
        and value.isprintable()
        and " " not in value
        and "<" not in value
        and ">" not in value
        and "|" not in value
    )


def href(url: str) -> str:
    """Return an http(s) URL ready to sit inside ``<…|…>``: ``&`` sent as ``&amp;``.

    Slack decodes it back, so the link opens the URL as given.
    """
    return url.replace("&", "&amp;") if "&" in url else url


def link(url: object, label: str) -> str:
    """Return a mrkdwn link ``<url|label>`` with the label escaped, or the escaped label alone.

    Only http(s) URLs become links; anything else is shown as text.
    """
    safe_label = escape_mrkdwn(label)
    if is_http_url(url):
        return f"<{href(url)}|{safe_label}>"
    return safe_label


def truncate(text: str, limit: int, marker: str = "…") -> str:
    """Cut *text* to at most *limit* characters, ending with *marker* when cut.

    Never cuts inside an escape entity such as ``&amp;``.
    """
    if len(text) <= limit:
        return text
    cut = text[: max(limit - len(marker), 0)]
    amp = cut.rfind("&", max(len(cut) - 5, 0))
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + marker
