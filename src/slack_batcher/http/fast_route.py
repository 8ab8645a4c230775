"""A route class that answers the ingest hot path without FastAPI's per-request machinery.

FastAPI solves the route's dependency tree for every request (the bearer scheme, the token
check, the request, the body), validates the body from a parsed ``dict`` and wraps the
handler in two exit stacks and an exception layer: about a third of the service's CPU per
event. :class:`FastBodyRoute` keeps the route exactly as declared (same dependant, so the
OpenAPI schema is unchanged) and answers the common, valid request itself, at the ASGI
level: ``Content-Type: application/json``, the right bearer token (or none needed), and a
body one cached :class:`~pydantic.TypeAdapter` accepts straight from its bytes. Any other
request (a bad token, another content type, an invalid body) takes FastAPI's own path, so
every error answer stays what it was; an exception the endpoint raises reaches the app's
exception handlers as from any route.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import TypeAdapter, ValidationError
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from .body import replaying
from .state import state_of

__all__ = ["FastBodyRoute", "fast_body_route"]

#: The handler a fast route calls: the validated body and the request.
FastEndpoint = Callable[[Any, Request], Awaitable[Response]]


def _bearer_ok(request: Request) -> bool:
    """Return True when no token is needed or the request carries it (as HTTPBearer reads it)."""
    auth = state_of(request).auth
    if not auth.enabled:
        return True
    header = request.headers.get("authorization")
    if not header:
        return False
    scheme, _, credentials = header.partition(" ")
    credentials = credentials.strip()
    if not scheme or not credentials or scheme.lower() != "bearer":
        return False
    return auth.token_matches(credentials)


async def _body(receive: Receive) -> bytes:
    """Read the whole body as ``Request.body`` does, without its async generator."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":  # http.disconnect
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


class FastBodyRoute(APIRoute):
    """An APIRoute whose valid JSON requests skip FastAPI's handler (see the module doc).

    Build it through :func:`fast_body_route`, which supplies the body type and the handler.
    """

    body_adapter: TypeAdapter[Any]
    fast_endpoint: FastEndpoint

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a valid request here; hand any other to FastAPI's route handling."""
        if self.methods and scope["method"] in self.methods:
            request = Request(scope, receive, send)
            if request.headers.get("content-type") == "application/json" and _bearer_ok(request):
                raw = await _body(receive)
                if raw:
                    try:
                        body = self.body_adapter.validate_json(raw)
                    except ValidationError:
                        pass  # FastAPI's path builds the problem body naming each field
                    else:
                        response = await self.fast_endpoint(body, request)
                        await response(scope, receive, send)
                        return
                receive = replaying(raw, receive)  # FastAPI's path reads the body again
        await super().handle(scope, receive, send)


def fast_body_route(body_type: Any, endpoint: FastEndpoint) -> type[FastBodyRoute]:
    """Return a :class:`FastBodyRoute` subclass validating *body_type*, calling *endpoint*."""
    adapter: TypeAdapter[Any] = TypeAdapter(body_type)
    return type(
        "FastBodyRoute_" + getattr(endpoint, "__name__", "endpoint"),
        (FastBodyRoute,),
        {"body_adapter": adapter, "fast_endpoint": staticmethod(endpoint)},
    )
