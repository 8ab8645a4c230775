"""Safe mrkdwn: user text can never ping, mention or forge a link."""

from __future__ import annotations

__all__ = ["escape_mrkdwn", "is_http_url", "link", "truncate"]

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_CONTROL = {code: None for code in range(32) if code not in (9, 10)} | {127: None}


def escape_mrkdwn(value: object) -> str:
    """Escape ``&``, ``<`` and ``>`` (Slack's three control characters) and drop control codes.

    After escaping, ``<!channel>``, ``<@U123>`` or ``<https://x|y>`` in user text shows as
    text and does nothing.
    """
    return str(value).translate(_CONTROL).translate(_ESCAPES)


def is_http_url(value: object) -> bool:
    """Return True for an http(s) URL with no characters that could break out of a link."""
    if not isinstance(value, str) or len(value) > 3000:
        return False
    lowered = value.lower()
    if not (lowered.startswith("https://") or lowered.startswith("http://")):
        return False
    return not any(ch in value for ch in "<>| \n\t\r")


def link(url: object, label: str) -> str:
    """Return a mrkdwn link ``<url|label>`` with the label escaped, or the escaped label alone.

    Only http(s) URLs become links; anything else is shown as text.
    """
    safe_label = escape_mrkdwn(label)
    if is_http_url(url):
        return f"<{url}|{safe_label}>"
    return safe_label


def truncate(text: str, limit: int, marker: str = "…") -> str:
    """Cut *text* to at most *limit* characters, ending with *marker* when cut.

    Never cuts inside an escape entity such as ``&amp;``.
    """
    if len(text) <= limit:
        return text
    cut = text[: max(limit - len(marker), 0)]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + marker
