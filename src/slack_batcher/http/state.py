"""What the HTTP layer shares between its routes: the service, auth and settings."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials

from ..runtime.service import BatchingService
from .auth import BEARER_SCHEME, TokenAuth
from .recent import RecentPost, RecordingSender
from .settings import ServerSettings

__all__ = ["AppState", "get_state", "require_token"]

#: The bearer-token security scheme, declared once so OpenAPI lists it.
BEARER = Security(BEARER_SCHEME)


@dataclass
class AppState:
    """The running service behind an app, and how the app guards and presents it."""

    service: BatchingService
    auth: TokenAuth
    settings: ServerSettings

    def recent_posts(self) -> list[RecentPost]:
        """Return the last posts, newest first (empty unless the sender is a RecordingSender)."""
        sender = self.service.sender
        return sender.recent() if isinstance(sender, RecordingSender) else []


def state_of(request: Request) -> AppState:
    """Return the app's state."""
    state: AppState = request.app.state.slack_batcher
    return state


async def get_state(request: Request) -> AppState:
    """FastAPI dependency: the app's state (async: a sync one would run in a thread pool)."""
    return state_of(request)


async def require_token(
    request: Request, credentials: HTTPAuthorizationCredentials | None = BEARER
) -> None:
    """FastAPI dependency: raise 401 unless the request carries the API token (if any)."""
    state_of(request).auth.check(credentials)
