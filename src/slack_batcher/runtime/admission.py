"""Admission: whether a :class:`~slack_batcher.runtime.BatchingService` accepts events now.

It does once started, until a shutdown is requested (a signal, ``request_shutdown``) or
begins, or until a group commit failed (then only a restart from the store resumes
ingest). :meth:`Admission.refusal` says which, for the 503 answers and ``/readyz``.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Iterable

from ..model.errors import SlackBatcherError, StoreError

__all__ = ["Admission", "ServiceClosedError"]

# The service's logger: its lines read as they did before this module existed.
logger = logging.getLogger("slack_batcher.runtime.service")


class ServiceClosedError(SlackBatcherError, RuntimeError):
    """The service is not accepting messages: not started, shutting down, or closed."""


class Admission:
    """The service's accepting state, its stop request and the signals that make one."""

    def __init__(self) -> None:
        #: True while submits are accepted.
        self.accepting = False
        #: True once the shutdown began (``aclose``).
        self.closed = False
        #: Why ingest stopped for good (a failed group commit), or None.
        self.diverged: str | None = None
        self._stop_requested = asyncio.Event()
        self._signals: tuple[int, ...] = ()
        self._loop: asyncio.AbstractEventLoop | None = None

    def check(self) -> None:
        """Raise :class:`ServiceClosedError` (saying why) unless events are accepted."""
        if not self.accepting:
            raise ServiceClosedError(self.refusal() or "the service is not accepting messages")

    def refusal(self) -> str | None:
        """Why events are refused, or None while they are accepted."""
        if self.accepting:
            return None
        if self.diverged is not None:
            return self.diverged
        if self.closing:
            return "the service is shutting down"
        return "the service is not started"

    @property
    def closing(self) -> bool:
        """True once a shutdown was requested or began."""
        return self.closed or self._stop_requested.is_set()

    def request_stop(self, signum: int | None = None) -> None:
        """Stop accepting events and let :meth:`wait_for_stop` return."""
        if signum is not None:
            logger.info("received %s: shutting down", signal.Signals(signum).name)
        self.accepting = False
        self._stop_requested.set()

    async def wait_for_stop(self) -> None:
        """Return once a stop is requested."""
        await self._stop_requested.wait()

    def diverge(self, exc: StoreError) -> None:
        """Refuse events for good: a group commit failed (see ``needs_restart``)."""
        # The turn's writes are undone in the store but applied in the batcher's memory:
        # accepting more could answer a resent event "duplicate" that is not stored.
        self.accepting = False
        self.diverged = (
            f"the store could not commit ({exc}); events of that moment were refused; "
            "restart the service to continue from what is stored"
        )
        logger.critical("%s", self.diverged)

    def install_signals(self, loop: asyncio.AbstractEventLoop, signals: Iterable[int]) -> None:
        """Make each of *signals* request a stop."""
        self._loop = loop
        self._signals = tuple(signals)
        for sig in self._signals:
            loop.add_signal_handler(sig, self.request_stop, sig)

    def remove_signals(self) -> None:
        """Give the signals back to their previous handling."""
        if self._loop is not None:
            for sig in self._signals:
                self._loop.remove_signal_handler(sig)
        self._signals = ()
