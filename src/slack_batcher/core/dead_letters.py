"""Dead letters: messages that could not be delivered, listed with the reason and replayable."""

from __future__ import annotations

import threading
from collections.abc import Callable

from ..formatting.message import SlackMessage
from ..model.clock import Clock
from ..model.errors import BatchNotFoundError
from ..model.message import BatchableMessage
from ..store.base import BatchStore, DeadLetter
from .recording import StatsRecorder

__all__ = ["DeadLetters", "Requeue"]

#: Re-queue one message in a channel; return True when it was a duplicate (not added).
Requeue = Callable[[BatchableMessage, str], bool]


class DeadLetters:
    """The store's dead letters: new ids, listing, and replay into the batcher."""

    def __init__(
        self,
        store: BatchStore,
        *,
        lock: threading.RLock,
        recorder: StatsRecorder,
        clock: Clock,
        id_prefix: str,
    ) -> None:
        self._store = store
        self._lock = lock
        self._recorder = recorder
        self._clock = clock
        self._prefix = id_prefix
        self._sequence = 0

    def new_letter(
        self,
        *,
        channel_id: str,
        reason: str,
        messages: list[BatchableMessage],
        batch_id: str | None = None,
        error_code: str | None = None,
        message: SlackMessage | None = None,
    ) -> DeadLetter:
        """Return a new (not yet stored) dead letter with a fresh id, created now."""
        self._sequence += 1
        return DeadLetter(
            id=f"dl_{self._prefix}_{self._sequence}",
            channel_id=channel_id,
            reason=reason,
            created_at=self._clock.now(),
            messages=messages,
            batch_id=batch_id,
            error_code=error_code,
            message=message,
        )

    def list(self, channel_id: str | None = None) -> list[DeadLetter]:
        """Return the dead letters, oldest first, optionally of one channel."""
        with self._lock:
            return self._store.dead_letters(channel_id)

    def get(self, letter_id: str) -> DeadLetter | None:
        """Return one dead letter, or None."""
        with self._lock:
            return self._store.get_dead_letter(letter_id)

    def replay(self, letter_id: str, requeue: Requeue) -> int:
        """Re-queue a dead letter's messages through *requeue*; return how many were re-queued.

        Raises :class:`~slack_batcher.model.errors.BatchNotFoundError` for an unknown id.
        """
        with self._lock:
            letter = self._store.get_dead_letter(letter_id)
            if letter is None:
                raise BatchNotFoundError(f"no dead letter with id {letter_id!r}")
            requeued = 0
            for message in letter.messages:
                requeued += not requeue(message, letter.channel_id)
            # Removed after re-queueing: a crash in between duplicates rather than loses.
            try:
                self._store.remove_dead_letter(letter_id)
            except Exception:
                self._recorder.error()
                raise
            self._recorder.stats.replayed += requeued
            return requeued
