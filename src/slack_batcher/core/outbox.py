"""The outbox: flushed batches waiting for delivery to be acknowledged.

:class:`Outbox` wraps the store's outbox for whoever delivers (the runtime, or a library user
with ``auto_ack=False``): read, update progress, acknowledge, dead-letter. New entries reach
a deliverer one way only: :meth:`Outbox.subscribe` hands back what is already waiting and
then calls the listener with every entry written afterwards, so nothing is missed or seen
twice. It shares the batcher's lock: flushes and deliveries see one consistent outbox.

Instances sharing one Redis share one outbox: then each entry is delivered by the instance
holding its lease, and the outbox asks the :class:`~slack_batcher.store.base.OutboxLeases`
it was given wherever ownership matters (what to deliver, saving progress, the size).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from ..formatting.message import SlackMessage
from ..model.errors import LeaseLostError
from ..store.base import BatchStore, DeadLetter, OutboxEntry, OutboxLeases
from .dead_letters import DeadLetters
from .recording import StatsRecorder
from .rendering import is_deferred

__all__ = ["Outbox", "OutboxListener"]

logger = logging.getLogger(__name__)

OutboxListener = Callable[[OutboxEntry], None]


class Outbox:
    """Undelivered flushes, kept by the store; counted here so its size costs no read."""

    def __init__(
        self,
        store: BatchStore,
        *,
        lock: threading.RLock,
        recorder: StatsRecorder,
        letters: DeadLetters,
        size: int = 0,
        leases: OutboxLeases | None = None,
    ) -> None:
        self._store = store
        #: Who delivers which entry, when instances share the outbox (else None).
        self.leases = leases
        self._lock = lock
        self._recorder = recorder
        self._letters = letters
        self._size = size
        self._listeners: list[OutboxListener] = []
        #: Renders an entry flushed with a deferred rendering (set by the batcher).
        self.render_deferred: Callable[[OutboxEntry], SlackMessage] | None = None

    def message_of(self, entry: OutboxEntry) -> SlackMessage:
        """Return *entry*'s post, rendering it now if its flush deferred that."""
        if self.render_deferred is not None and is_deferred(entry.message):
            entry.message = self.render_deferred(entry)
        return entry.message

    def _call(self, method: Any, *args: Any) -> Any:
        try:
            return method(*args)
        except Exception:
            self._recorder.error()
            raise

    # ------------------------------------------------------------ writing side

    def written(self, entry: OutboxEntry) -> None:
        """Note that the store now holds *entry* (written with its flush); tell the listeners.

        Listeners run under the batcher's lock, in whichever thread flushed.
        """
        if self.leases is not None:
            self.leases.hold(entry.id)
        self._notify(entry)

    def _notify(self, entry: OutboxEntry) -> None:
        self._size += 1
        for listener in self._listeners:
            try:
                listener(entry)
            except Exception:
                logger.exception("outbox listener %r failed", listener)

    def take(self, channel_id: str | None = None) -> dict[str, list[SlackMessage]]:
        """Acknowledge and return the waiting messages (of one channel), by channel.

        For auto-ack mode: side-path flushes are handed to the next ``flush_*`` caller.
        """
        result: dict[str, list[SlackMessage]] = {}
        if not self._size and self.leases is None:
            return result
        with self._lock:
            if self.leases is not None:
                waiting = self.leases.held_entries()
            else:
                waiting = self._store.outbox_entries(None)
            for entry in waiting:
                if channel_id is not None and entry.channel_id != channel_id:
                    continue
                if self.ack(entry.id):
                    result.setdefault(entry.channel_id, []).append(self.message_of(entry))
        return result

    # ----------------------------------------------------------- delivery side

    def __len__(self) -> int:
        return self.size()

    def size(self) -> int:
        """Return how many flushed messages wait for delivery (shared: across instances)."""
        return self._size if self.leases is None else self.leases.size()

    def entries(self, limit: int | None = None) -> list[OutboxEntry]:
        """Return the waiting entries, oldest first (at most *limit*)."""
        with self._lock:
            return self._store.outbox_entries(limit)

    def get(self, outbox_id: str) -> OutboxEntry | None:
        """Return one waiting entry, or None."""
        with self._lock:
            return self._store.get_outbox(outbox_id)

    def subscribe(self, listener: OutboxListener) -> list[OutboxEntry]:
        """Return the entries waiting now, and call *listener* with every later one.

        Both happen under one lock, so each entry is either returned or passed to the
        listener, exactly once. Keep the listener short (hand the entry to a queue).
        """
        with self._lock:
            self._listeners.append(listener)
            if self.leases is not None:
                return self.leases.waiting()
            return self._store.outbox_entries(None)

    def add_listener(self, listener: OutboxListener) -> None:
        """Call *listener* with every entry written from now on (none already waiting)."""
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: OutboxListener) -> None:
        """Stop calling *listener* (a no-op if it was not added)."""
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def update(self, entry: OutboxEntry) -> None:
        """Save a delivery attempt's progress (attempts, next attempt, error, sender state)."""
        with self._lock:
            if self.leases is None:
                self._call(self._store.update_outbox, entry)
                return
            try:
                self.leases.save(entry)
            except LeaseLostError:
                raise
            except Exception:
                self._recorder.error()
                raise

    def ack(self, outbox_id: str) -> bool:
        """Mark an entry delivered; False if it was not in the outbox."""
        with self._lock:
            if self.leases is not None:
                self.leases.drop(outbox_id)
            removed = bool(self._call(self._store.ack, outbox_id))
            if removed:
                self._size -= 1
            return removed

    def drain(self) -> list[OutboxEntry]:
        """Return every waiting entry and acknowledge it: the caller now owns delivery."""
        with self._lock:
            entries = self._store.outbox_entries(None)
            for entry in entries:
                self.ack(entry.id)
            return entries

    def dead_letter(
        self, outbox_id: str, reason: str, error_code: str | None = None
    ) -> DeadLetter | None:
        """Move an undeliverable entry to the dead letters; None if not in the outbox."""
        with self._lock:
            if self.leases is not None:
                self.leases.drop(outbox_id)
            entry = self._store.get_outbox(outbox_id)
            if entry is None:
                return None
            letter = self._letters.new_letter(
                channel_id=entry.channel_id,
                reason=reason,
                messages=list(entry.messages),
                batch_id=entry.batch_id,
                error_code=error_code,
                message=self._rendered_for_letter(entry),
            )
            if not self._call(self._store.dead_letter_outbox, outbox_id, letter):
                return None
            self._size -= 1
            self._recorder.dead_lettered(letter)
            return letter

    def _rendered_for_letter(self, entry: OutboxEntry) -> SlackMessage:
        """Return *entry*'s post for its dead letter (its items are kept whatever happens)."""
        try:
            return self.message_of(entry)
        except Exception:  # a failing formatter must not keep an entry from its letter
            logger.exception("could not render %s for its dead letter", entry.id)
            return entry.message

    # ------------------------------------------------------- shared (leases)

    def maintain(self) -> int:
        """Extend this instance's leases and take over entries nobody holds; return how many.

        Taken-over entries go to the listeners, marked ``state.taken_over`` with the
        previous owner ('' for an entry given back). Without leases: nothing to do, 0.
        """
        if self.leases is None:
            return 0
        with self._lock:
            entries = self.leases.maintain()
            for entry in entries:
                self._notify(entry)
            return len(entries)

    def release(self) -> int:
        """Give the entries this instance holds back to the others; return how many."""
        if self.leases is None:
            return 0
        with self._lock:
            return self.leases.release()
