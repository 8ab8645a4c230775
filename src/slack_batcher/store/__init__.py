"""Batch stores: the protocol and its implementations."""

from .base import BatchStore, DeadLetter, OutboxEntry, StoredState
from .memory import MemoryStore

__all__ = ["BatchStore", "DeadLetter", "MemoryStore", "OutboxEntry", "StoredState"]
