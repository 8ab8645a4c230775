"""Store upkeep: checkpoint a store's write-ahead log once the service's writes pause.

A checkpoint copies the SQLite WAL back into the database (and fsyncs), so it runs when
the service is idle — no submit for :data:`IDLE_CHECKPOINT_SECONDS` and no acknowledgement
held back by a full disk — not at every drain of a busy outbox. Stores without a
``checkpoint`` method (memory, Redis) need none of this.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from ..model.errors import StoreError
from ..store.base import BatchStore

__all__ = ["IDLE_CHECKPOINT_SECONDS", "StoreUpkeep"]

logger = logging.getLogger(__name__)

#: Seconds without a submit after which the store's write-ahead log is checkpointed.
IDLE_CHECKPOINT_SECONDS = 1.0


class StoreUpkeep:
    """Runs the store's ``checkpoint`` once writes pause (see the module docstring).

    *retry_acks* writes what a full disk held back (acks, the digest map) and returns how
    many still wait; while some do, the store checkpoints every second (it may make room).
    """

    def __init__(
        self,
        store: BatchStore,
        loop: asyncio.AbstractEventLoop,
        retry_acks: Callable[[], int],
    ) -> None:
        self._checkpoint_store = store.checkpoint
        self._loop = loop
        self._retry_acks = retry_acks
        self._writes = 0  # submits so far: the timer checkpoints once they pause
        self._writes_seen = 0
        self._handle: asyncio.TimerHandle | None = None
        self._closed = False

    def wrote(self, count: int = 1) -> None:
        """Count *count* submits (the store is busy)."""
        self._writes += count

    @property
    def scheduled(self) -> bool:
        """True while the idle timer is armed."""
        return self._handle is not None

    def schedule(self) -> None:
        """Checkpoint once submits pause for :data:`IDLE_CHECKPOINT_SECONDS` (idle)."""
        if self._handle is not None or self._closed or self._checkpoint_store is None:
            return
        self._writes_seen = self._writes
        self._handle = self._loop.call_later(IDLE_CHECKPOINT_SECONDS, self._run)

    def _run(self) -> None:
        self._handle = None
        waiting = self._retry_acks()
        if waiting:  # held back by a full disk: a checkpoint may make room for them
            self.checkpoint()
        if self._writes != self._writes_seen or waiting:
            self.schedule()  # still busy (or writes held back by a full disk)
            return
        self.checkpoint()

    def checkpoint(self) -> None:
        """Let the store copy its write-ahead log back and shrink it (now)."""
        try:
            self._checkpoint_store()
        except StoreError as exc:
            logger.warning("checkpointing the store failed: %s", exc)

    def close(self) -> None:
        """Disarm the timer; :meth:`checkpoint` still works (the shutdown's last one)."""
        self._closed = True
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
