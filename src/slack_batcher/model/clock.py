"""Time sources: the only module that reads the system clock.

Every deadline in slack-batcher is read from a :class:`Clock`. Production code uses
:class:`SystemClock`; tests and simulations move a :class:`ManualClock` instead of sleeping.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "ManualClock", "SystemClock", "utc_now"]


def utc_now() -> datetime:
    """Return the current time as a timezone-aware UTC datetime."""
    return datetime.now(UTC)


@runtime_checkable
class Clock(Protocol):
    """A source of timezone-aware UTC time."""

    def now(self) -> datetime:
        """Return the current time (timezone-aware, UTC)."""
        ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        """Return the current wall-clock time in UTC."""
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that only moves when told to: deterministic tests and simulations.

    ``ManualClock(start)`` starts at *start* (a naive datetime is taken as UTC; the default is
    2026-01-01T00:00:00Z). ``advance(seconds)`` or ``advance(timedelta)`` moves it forward.
    Thread-safe.
    """

    def __init__(self, start: datetime | None = None) -> None:
        if start is None:
            start = datetime(2026, 1, 1, tzinfo=UTC)
        elif start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """Return the clock's current time."""
        return self._now  # one reference read: atomic, no lock needed

    def advance(self, delta: float | timedelta) -> datetime:
        """Move the clock forward by *delta* (seconds or a timedelta); return the new time."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        if step < timedelta(0):
            raise ValueError(f"a clock cannot go backwards (advance by {step})")
        with self._lock:
            self._now += step
            return self._now

    def set(self, when: datetime) -> None:
        """Jump to *when*, which must not be earlier than the current time."""
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        with self._lock:
            if when < self._now:
                raise ValueError(f"a clock cannot go backwards ({when} < {self._now})")
            self._now = when

    def __repr__(self) -> str:
        return f"ManualClock({self._now.isoformat()})"
