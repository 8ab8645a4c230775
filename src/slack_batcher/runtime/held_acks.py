"""Acks a full disk refused: kept in memory, retried, and no post started meanwhile."""

from __future__ import annotations

import logging

from ..core.log_fields import entry_fields
from ..core.outbox import Outbox
from ..model.errors import StoreError
from ..store.base import BatchStore, OutboxEntry
from .metrics import DeliveryMetrics

__all__ = ["HeldAcks"]

logger = logging.getLogger("slack_batcher.runtime.posting")


class HeldAcks:
    """Delivered entries whose ack could not be written yet (each a possible duplicate)."""

    def __init__(self, store: BatchStore, outbox: Outbox, metrics: DeliveryMetrics) -> None:
        self._store = store
        self._outbox = outbox
        self._metrics = metrics
        self._entries: dict[str, OutboxEntry] = {}
        self._in_store: set[str] = set()  # of those, the ones the outbox counted as gone

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, outbox_id: object) -> bool:
        return outbox_id in self._entries

    def hold(self, entry: OutboxEntry, why: object, *, counted: bool) -> None:
        """Keep *entry*'s ack to write later; it counts as a possible duplicate."""
        self._entries[entry.id] = entry
        if counted:  # the in-memory outbox already counted it out: write it to the store
            self._in_store.add(entry.id)
        self._metrics.count("possible_duplicates")
        logger.error(
            "post %s was delivered but its ack cannot be written yet (%s): no post is started "
            "until it is; a restart meanwhile would post it again",
            entry.id,
            why,
            extra=entry_fields(entry),
        )

    def retry(self) -> int:
        """Write the acks a full disk held back; return how many are still waiting."""
        for outbox_id in list(self._entries):
            try:
                if outbox_id in self._in_store:
                    self._store.ack(outbox_id)
                    self._in_store.discard(outbox_id)
                else:
                    self._outbox.ack(outbox_id)
            except StoreError:
                break
            del self._entries[outbox_id]
        return len(self._entries)
