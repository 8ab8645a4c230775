"""Saying once per interval what would otherwise be said thousands of times a second.

Out of file descriptors, the event loop fails every ``accept()`` and logs a traceback each
time: under 600 slow clients with ``ulimit -n 256`` that was 10,000 tracebacks in 10 s.
:func:`install_exhaustion_handler` makes it one WARNING line per interval with the count;
:class:`EveryInterval` is the counter behind it (and behind the one-line notes of clients
that went away or were too slow).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import time
from collections.abc import Callable
from typing import Any

__all__ = ["EveryInterval", "RepeatFilter", "install_exhaustion_handler"]

logger = logging.getLogger(__name__)

#: errno values that mean "out of a resource", not "this one connection failed".
EXHAUSTED = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


class EveryInterval:
    """Counts occurrences of a thing; :meth:`due` says when to speak, with the count so far."""

    def __init__(self, seconds: float = 10.0, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self._clock = clock
        self._last: float | None = None
        self._count = 0

    def due(self) -> int | None:
        """Count one occurrence; return how many since the last report when one is due."""
        self._count += 1
        now = self._clock()
        if self._last is not None and now - self._last < self.seconds:
            return None
        self._last = now
        count, self._count = self._count, 0
        return count


def install_exhaustion_handler(
    loop: asyncio.AbstractEventLoop, *, seconds: float = 10.0, hint: str = ""
) -> None:
    """Make *loop* report running out of descriptors or memory once per *seconds*, no trace.

    Any other error the loop reports goes to its default handler, as before.
    """
    limiter = EveryInterval(seconds)

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        if not isinstance(error, OSError) or error.errno not in EXHAUSTED:
            loop.default_exception_handler(context)
            return
        count = limiter.due()
        if count is not None:
            logger.warning(
                "%s: %s (%s since the last such line; said at most every %.0f s)%s",
                context.get("message", "the event loop"),
                error.strerror or error,
                "once" if count == 1 else f"{count} times",
                seconds,
                f"; {hint}" if hint else "",
            )

    loop.set_exception_handler(handle)


class RepeatFilter(logging.Filter):
    """Let each of *messages* through once per interval, with how often it happened.

    On uvicorn's logger it turns "Exceeded concurrency limit." (one line per request
    answered 503 past ``server.max_connections``) into one line per 10 s with a count.
    """

    def __init__(self, messages: tuple[str, ...], seconds: float = 10.0) -> None:
        super().__init__()
        self._limiters = {message: EveryInterval(seconds) for message in messages}
        self.seconds = seconds

    def filter(self, record: logging.LogRecord) -> bool:
        """Return False for a repeat inside the interval; reword the one let through."""
        limiter = self._limiters.get(record.getMessage())
        if limiter is None:
            return True
        count = limiter.due()
        if count is None:
            return False
        times = "once" if count == 1 else f"{count} times"
        record.msg = f"{record.getMessage()} ({times} since the last such line)"
        record.args = ()
        return True
