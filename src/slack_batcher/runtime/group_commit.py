"""Group commit: one store transaction per event-loop turn, committed before any answer.

A commit per event is the main cost of durable ingest. Requests that arrive together are
handled in the same turn of the event loop; :class:`GroupCommit` opens one transaction for
everything the service writes in that turn (``store.begin_group()``) and commits it in a
callback that runs right after the turn (``loop.call_soon``), before any of the turn's
submitters resumes: ``await service.submit(...)`` returns only once its event is durable,
so a 202 still means "stored".

A failed group commit (a full disk) undoes the whole turn in the store while the batcher's
memory already holds it, so the service stops accepting events until it is restarted from
the store (see :class:`~slack_batcher.runtime.BatchingService`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from ..model.errors import StoreError

__all__ = ["GroupCommit", "GroupStore"]

logger = logging.getLogger(__name__)


class GroupStore(Protocol):
    """A store that can defer its commits (:class:`~slack_batcher.store.SQLiteStore`)."""

    def begin_group(self) -> None:
        """Open a group: later calls join one transaction."""
        ...

    def commit_group(self) -> None:
        """Commit the group (raises StoreError when the commit fails)."""
        ...


class GroupCommit:
    """Opens a group on the first write of a loop turn and commits it after the turn."""

    def __init__(
        self,
        store: GroupStore,
        loop: asyncio.AbstractEventLoop,
        on_failure: Callable[[StoreError], None],
    ) -> None:
        self._store = store
        self._loop = loop
        self._on_failure = on_failure
        self._committed: asyncio.Future[None] | None = None
        self._intake = False  # the open group holds accepted events
        #: Groups committed, and the writes they carried (for the figures).
        self.groups = 0
        self.writes = 0

    def join(self, *, intake: bool = True) -> asyncio.Future[None]:
        """Enter this turn's group; the future resolves once it is committed.

        ``intake=False``: the writes are delivery's bookkeeping (progress, acks), which
        handles a failed commit itself; only a failed group holding accepted events stops
        the service (``on_failure``).
        """
        committed = self._committed
        if committed is None:
            self._store.begin_group()
            committed = self._committed = self._loop.create_future()
            self._loop.call_soon(self._commit)
        self.writes += 1
        self._intake = self._intake or intake
        return committed

    @property
    def open(self) -> bool:
        """True while a group is open (between a write and the end of its turn)."""
        return self._committed is not None

    def _commit(self) -> None:
        committed, self._committed = self._committed, None
        intake, self._intake = self._intake, False
        if committed is None:
            return
        try:
            self._store.commit_group()
        except StoreError as exc:
            committed.set_exception(exc)
            committed.add_done_callback(_retrieve)
            if intake:
                self._on_failure(exc)
            return
        self.groups += 1
        committed.set_result(None)

    def close(self) -> None:
        """Commit a group still open (at shutdown)."""
        self._commit()


def _retrieve(future: asyncio.Future[None]) -> None:
    """Mark the exception seen: every waiter got it; none must warn at garbage collection."""
    if not future.cancelled():
        future.exception()
