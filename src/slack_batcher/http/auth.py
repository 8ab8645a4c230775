"""Bearer-token auth for the /v1 API and the dashboard, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

__all__ = ["BEARER_SCHEME", "CSRF_FIELD", "SESSION_COOKIE", "TokenAuth"]

#: The dashboard's session cookie: a digest of the token, never the token itself.
SESSION_COOKIE = "slack_batcher_session"
#: The hidden form field carrying the dashboard's CSRF token.
CSRF_FIELD = "csrf"

BEARER_SCHEME = HTTPBearer(auto_error=False, description="SLACK_BATCHER_API_TOKEN")


class TokenAuth:
    """Checks the API token. With no (or a blank) token every request passes (loopback only)."""

    def __init__(self, token: str | None) -> None:
        token = token.strip() if token else None
        self._token = token.encode() if token else None
        self._session = (
            hmac.new(self._token, b"slack-batcher dashboard session", hashlib.sha256).hexdigest()
            if self._token
            else None
        )
        # With a token the CSRF token is derived from it (pages stay valid across restarts);
        # without one it is random per process: only pages this server rendered carry it.
        self._csrf = (
            hmac.new(self._token, b"slack-batcher dashboard csrf", hashlib.sha256).hexdigest()
            if self._token
            else secrets.token_hex(32)
        )

    @property
    def enabled(self) -> bool:
        """True when a token is required."""
        return self._token is not None

    def token_matches(self, candidate: str | None) -> bool:
        """Return True when *candidate* is the token (constant-time comparison)."""
        if self._token is None:
            return True
        if candidate is None:
            return False
        return hmac.compare_digest(candidate.encode(), self._token)

    def session_value(self) -> str:
        """Return the cookie value that proves a dashboard login (empty without a token)."""
        return self._session or ""

    def session_valid(self, request: Request) -> bool:
        """Return True when the request carries a valid dashboard session (or none is needed)."""
        if self._session is None:
            return True
        cookie = request.cookies.get(SESSION_COOKIE, "")
        return hmac.compare_digest(cookie.encode(), self._session.encode())

    def csrf_token(self) -> str:
        """Return the token the dashboard's forms carry in their hidden ``csrf`` field."""
        return self._csrf

    def csrf_valid(self, candidate: str | None) -> bool:
        """Return True when *candidate* is the dashboard's CSRF token (constant-time)."""
        if not candidate:
            return False
        return hmac.compare_digest(candidate.encode(), self._csrf.encode())

    def check(self, credentials: HTTPAuthorizationCredentials | None) -> None:
        """Raise 401 unless *credentials* carry the token (always pass without a token)."""
        if self._token is None:
            return
        if credentials is None:
            raise HTTPException(
                401,
                "missing bearer token: send 'Authorization: Bearer <SLACK_BATCHER_API_TOKEN>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not self.token_matches(credentials.credentials):
            raise HTTPException(
                401,
                "invalid bearer token",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
