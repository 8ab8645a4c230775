"""How each source proves a request is its own: HMAC over the raw body, or a bearer token.

Both compare in constant time (:func:`hmac.compare_digest`) and return a reason string when
the request is refused (None when it is accepted), so the caller answers 401 with it. The
reasons never contain the secret, the expected signature or the one received.
"""

from __future__ import annotations

import hashlib
import hmac
import re

__all__ = ["sign", "verify_bearer", "verify_hmac_sha256"]

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


def sign(secret: str, body: bytes) -> str:
    """Return the ``sha256=<hex>`` signature of *body* (what GitHub and Jira send)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_hmac_sha256(
    secret: str, body: bytes, header_value: str | None, header: str
) -> str | None:
    """Check ``header: sha256=<hex>`` against the HMAC-SHA256 of *body* under *secret*."""
    if header_value is None or not header_value.strip():
        return f"missing {header} header: the request is not signed"
    algorithm, sep, digest = header_value.strip().partition("=")
    if not sep:
        return f"malformed {header} header: expected sha256=<hex digest>"
    if algorithm.lower() != "sha256":
        return f"{header} uses {algorithm[:20]!r}; only sha256 signatures are accepted"
    if not _HEX64.fullmatch(digest):
        return f"malformed {header} header: expected 64 hexadecimal digits after sha256="
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, digest.lower()):
        return f"{header} does not match the body: wrong secret, or the body was changed"
    return None


def verify_bearer(token: str, authorization: str | None) -> str | None:
    """Check an ``Authorization: Bearer <token>`` header against *token*."""
    if authorization is None or not authorization.strip():
        return "missing Authorization header: expected 'Bearer <token>'"
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return "malformed Authorization header: expected 'Bearer <token>'"
    if not hmac.compare_digest(credentials.strip().encode(), token.encode()):
        return "invalid bearer token"
    return None
