"""Tokenless (loopback) mode's guard: loopback Host names only, no cross-origin state change.

Without an API token anything that can reach the port may use the API, so the server binds
loopback only. That alone does not stop a web page in the operator's browser: DNS rebinding
points ``evil.example`` at 127.0.0.1 (the request then says ``Host: evil.example``), and a
cross-site form can POST to ``http://127.0.0.1:8787/v1/flush``. So, in tokenless mode only:

* a request whose ``Host`` is not a loopback name (``localhost``, ``127.0.0.1`` or another
  127.x.y.z address, ``[::1]``; with any port) is answered 421 Misdirected Request;
* a state-changing request (any method but GET, HEAD, OPTIONS) that a browser marks as coming
  from another origin (``Origin`` not this host, ``Origin: null``, ``Sec-Fetch-Site`` other
  than ``same-origin`` / ``none``) is answered 403. Clients that are not browsers (curl, the
  CLI, webhooks) send neither header and pass.

The webhook endpoints under ``/v1/sources/`` are exempt: each request carries its own HMAC
signature or source token, which neither a rebound name nor a cross-site form can forge, so
a tunnel or local proxy may forward deliveries to a tokenless server.

With a token the guard steps aside: /v1 needs the bearer token, which a browser never adds on
its own, the dashboard checks its session and CSRF token, and /v1/sources/* check their own
signatures, so every route stays reachable through a reverse proxy under any host name.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from .problems import problem_response

__all__ = [
    "LOOPBACK_HOSTS",
    "SELF_AUTHENTICATED_PREFIXES",
    "LoopbackGuardMiddleware",
    "cross_origin_reason",
    "host_name",
    "is_loopback_host",
]

#: Host names (without the port) a tokenless server answers to.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Paths whose requests authenticate themselves (webhook signatures, source tokens).
SELF_AUTHENTICATED_PREFIXES = ("/v1/sources/",)


def host_name(host: str) -> str:
    """Return the name part of a ``Host`` header value, lower-cased: ``[::1]:8787`` → ``[::1]``."""
    host = host.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        return host[: end + 1] if end > 0 else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_loopback_host(host: str) -> bool:
    """Return True when a ``Host`` header value names this machine's loopback interface."""
    name = host_name(host)
    if name in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def cross_origin_reason(headers: Headers) -> str | None:
    """Return why a browser request comes from another origin, or None when it does not.

    ``Origin`` must name this ``Host`` (scheme aside: TLS may end at a proxy); ``null`` is
    another origin (sandboxed frames, ``data:`` pages). ``Sec-Fetch-Site`` must be
    ``same-origin`` or ``none`` (typed in the address bar) when a browser sends it.
    """
    site = headers.get("sec-fetch-site")
    if site is not None and site.lower() not in ("same-origin", "none"):
        return f"the browser marked this request as {site}"
    origin = headers.get("origin")
    if origin is None:
        return None
    host = headers.get("host", "").strip().lower()
    if origin.strip().lower() == "null" or urlsplit(origin.strip().lower()).netloc != host:
        return "the request comes from another origin"
    return None


class LoopbackGuardMiddleware:
    """Enforce the tokenless mode's rules above (*enabled* False: pass everything through)."""

    def __init__(self, app: ASGIApp, *, enabled: bool) -> None:
        self.app = app
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 421 or 403 as described in the module docstring, else pass the request on."""
        if (
            not self.enabled
            or scope["type"] != "http"
            or scope["path"].startswith(SELF_AUTHENTICATED_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if not is_loopback_host(headers.get("host", "")):
            response = problem_response(
                421,
                "without an API token this server answers only to a loopback host name "
                "(127.0.0.1, localhost or [::1]); set SLACK_BATCHER_API_TOKEN to serve "
                "other names",
            )
            await response(scope, receive, send)
            return
        if scope["method"] not in SAFE_METHODS:
            reason = cross_origin_reason(headers)
            if reason is not None:
                response = problem_response(403, f"cross-origin request refused: {reason}")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
