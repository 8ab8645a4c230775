"""Showing a store URL without its secrets (each store names itself: ``store.describe()``).

:func:`redacted_url` is the one place a store URL is made safe to show: the startup line,
``config show``, stats, health, the dashboard and every store error go through it.
"""

from __future__ import annotations

from urllib.parse import unquote

__all__ = ["redacted_url"]

#: What stands in for a credential.
HIDDEN = "***"
#: Query parameters whose value is a credential (redis-py reads ``?password=``).
_SECRET_WORDS = ("pass", "pwd", "secret", "token", "auth", "key", "cred")


def _secret_key(name: str) -> bool:
    lowered = unquote(name).lower()
    return any(word in lowered for word in _SECRET_WORDS)


def _query(query: str) -> str:
    parts = []
    for pair in query.split("&"):
        name, sep, _ = pair.partition("=")
        parts.append(f"{name}={HIDDEN}" if sep and _secret_key(name) else pair)
    return "&".join(parts)


def redacted_url(url: str) -> str:
    """Return *url* with every credential replaced by ``***``: safe to log and to show.

    Hides the password of ``scheme://user:password@host`` (even one holding ``@``, ``:`` or
    ``/`` unencoded: everything up to the last ``@`` of the authority is credentials), a
    lone ``scheme://secret@host`` whole, and the value of credential query parameters
    (``?password=``, ``?sentinel_password=``, ``?token=`` …). Anything that is not
    ``scheme://…`` is returned as it is (a file path has no credentials). Not
    :func:`urllib.parse.urlsplit`: it ends the authority at the first ``/``, ``?`` or ``#``,
    so an unencoded ``redis://:p/ss@host`` would show ``ss`` as the path.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    at = rest.rfind("@")
    query_at = rest.find("?")
    before = rest[:query_at]
    if 0 <= query_at < at and "=" in rest[query_at:at] and "@" not in before and "/" in before:
        at = -1  # the "@" is in a query value (host/0?client_name=a@b), not after credentials
    shown = f"{scheme}://"
    if at >= 0:  # everything before the last "@" is credentials, whatever it holds
        user, colon, _ = rest[:at].partition(":")
        shown += f"{user}:{HIDDEN}@" if colon else f"{HIDDEN}@"
        rest = rest[at + 1 :]
    rest, hash_sep, fragment = rest.partition("#")
    head, query_sep, query = rest.partition("?")
    shown += head + (query_sep + _query(query) if query_sep else "")
    return shown + (hash_sep + fragment if hash_sep else "")
