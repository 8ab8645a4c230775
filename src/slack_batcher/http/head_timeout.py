"""Closing connections whose request head does not arrive in time (slow headers).

uvicorn times a connection out only between requests (keep-alive); a client that opens a
connection and sends its request line and headers a byte a second holds it forever, and
``limit_concurrency`` cannot help, since it is checked once the head is complete.
:func:`head_timeout_protocol` returns uvicorn's h11 protocol with one more timer: armed when
the connection opens and after each response, it closes the connection if no request is
being served when it fires. Bodies are bounded by :mod:`.body` once the head is in.
"""

from __future__ import annotations

import asyncio
import logging

from uvicorn.protocols.http.h11_impl import H11Protocol

from .exhaustion import EveryInterval

__all__ = ["head_timeout_protocol"]

logger = logging.getLogger(__name__)


class _HeadTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol; see the module docstring. ``head_seconds`` is set per server."""

    head_seconds = 10.0
    notes = EveryInterval(10.0)
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        if not self.transport.is_closing():
            self._head_timer = self.loop.call_later(self.head_seconds, self._head_expired)

    def _head_expired(self) -> None:
        self._head_timer = None
        cycle = self.cycle
        if (cycle is not None and not cycle.response_complete) or self.transport.is_closing():
            return  # a request is being served: its body is bounded by BodyMiddleware
        count = self.notes.due()
        if count is not None:
            logger.info(
                "closed a connection that sent no complete request head within %g s "
                "(%d such connections since the last such line)",
                self.head_seconds,
                count,
            )
        self.transport.close()


def head_timeout_protocol(seconds: float) -> type[H11Protocol]:
    """Return the protocol class for uvicorn's ``http=``, closing slow heads after *seconds*."""
    return type(
        "HeadTimeoutProtocol",
        (_HeadTimeoutProtocol,),
        {"head_seconds": seconds, "notes": EveryInterval(10.0)},
    )
