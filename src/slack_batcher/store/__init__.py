"""Batch stores: the protocol and its implementations."""

from .base import BatchStore, DeadLetter, OutboxEntry, StoredState
from .memory import MemoryStore
from .sqlite import SQLiteStore

__all__ = ["BatchStore", "DeadLetter", "MemoryStore", "OutboxEntry", "SQLiteStore", "StoredState"]
