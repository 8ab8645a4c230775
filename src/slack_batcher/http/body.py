"""Reading request bodies with bounds: size (413), time (408), and clients that go away.

:class:`BodyMiddleware` reads the whole body of every request that may carry one before
the app sees it:

- larger than ``max_bytes``: 413, refused before anything is hashed or parsed (a declared
  ``Content-Length`` over the limit at once, a chunked body once it goes past it);
- not complete ``max_seconds`` after the request started (a body trickling 1 byte/s): 408
  and the connection is closed, so a slow client cannot hold a connection forever;
- the client disconnects mid-body: nothing to answer; one INFO line (at most one per
  interval, with a count), never a traceback.

The app then reads the buffered body at once; a disconnect it notices later is the same
INFO line.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .exhaustion import EveryInterval
from .problems import problem_response

__all__ = ["BodyMiddleware", "replaying"]

logger = logging.getLogger(__name__)


class BodyMiddleware:
    """Bound every request body by size and by time; see the module docstring."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, max_seconds: float, note_seconds: float = 10.0
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds
        self._gone = EveryInterval(note_seconds)
        self._slow = EveryInterval(note_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Buffer the body within the bounds, then pass the request on (or answer)."""
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self._run(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, send, 413, self._too_large())
            return
        chunks: list[bytes] = []
        size = 0
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout_at(loop.time() + self.max_seconds):
                while True:
                    message = await receive()
                    if message["type"] != "http.request":  # http.disconnect
                        self._went_away(scope, size)
                        return
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_bytes:
                        await self._refuse(scope, send, 413, self._too_large())
                        return
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            self._too_slow(scope, size)
            detail = f"the request body did not arrive within {self.max_seconds:g} s"
            await self._refuse(scope, send, 408, detail)
            return
        await self._run(scope, replaying(b"".join(chunks), receive), send)

    async def _run(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except ClientDisconnect:
            self._went_away(scope, None)

    def _too_large(self) -> str:
        return f"the request body is larger than the limit of {self.max_bytes} bytes"

    async def _refuse(self, scope: Scope, send: Send, status: int, detail: str) -> None:
        response = problem_response(status, detail)
        response.headers["Connection"] = "close"

        async def nothing() -> Message:  # the body is not read any further
            return {"type": "http.disconnect"}

        await response(scope, nothing, send)

    def _went_away(self, scope: Scope, size: int | None) -> None:
        count = self._gone.due()
        if count is not None:
            read = f" after {size} bytes of its body" if size is not None else ""
            logger.info(
                "%s %s: the client went away%s (%d such requests since the last such line)",
                scope["method"],
                scope["path"],
                read,
                count,
            )

    def _too_slow(self, scope: Scope, size: int) -> None:
        count = self._slow.due()
        if count is not None:
            logger.info(
                "%s %s: the body was not complete after %g s (%d bytes): answered 408, "
                "connection closed (%d such requests since the last such line)",
                scope["method"],
                scope["path"],
                self.max_seconds,
                size,
                count,
            )


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def replaying(body: bytes, receive: Receive) -> Receive:
    """Return a receive that gives *body* (already read) once, then defers to *receive*."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
