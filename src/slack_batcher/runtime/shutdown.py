"""What a graceful shutdown did: the figures in ``stats()["last_shutdown"]`` and its log line."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["ShutdownReport"]

# The service's logger, as before the report had a module of its own.
logger = logging.getLogger("slack_batcher.runtime.service")


@dataclass(frozen=True, slots=True)
class ShutdownReport:
    """The figures of one shutdown: batches flushed, posts delivered, what is left."""

    pending: int  # batches pending when the shutdown began
    flushed_batches: int
    failed_to_flush: int
    posts_to_deliver: int
    delivered: int
    dead_lettered: int
    cut_off_in_flight: int
    acks_not_written: int
    left_in_outbox: int
    durable: bool

    def to_dict(self) -> dict[str, Any]:
        """Return the figures as ``stats()["last_shutdown"]`` shows them (without ``pending``)."""
        figures = asdict(self)
        del figures["pending"]
        return figures

    def log(self) -> None:
        """Log one line: an error when something failed to flush or posts are lost."""
        unflushed, left = self.failed_to_flush, self.left_in_outbox
        log = logger.error if (left and not self.durable) or unflushed else logger.info
        log(
            "shutdown: flushed %d of %d pending batches%s; delivered %d of %d posts, "
            "dead-lettered %d; %d left in the outbox (%s)",
            self.flushed_batches,
            self.pending,
            f" ({unflushed} failed to flush and stay pending)" if unflushed else "",
            self.delivered,
            self.posts_to_deliver,
            self.dead_lettered,
            left,
            "kept in the store for the next start"
            if self.durable
            else "LOST when this process exits: the store is not durable",
        )
