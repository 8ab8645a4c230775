"""Batch stores: the protocol and its implementations."""

from .base import BatchStore, DeadLetter, DigestRecord, OutboxEntry, StoredState
from .memory import MemoryStore
from .redis.store import RedisStore
from .sqlite.store import SQLiteStore

__all__ = [
    "BatchStore",
    "DeadLetter",
    "DigestRecord",
    "MemoryStore",
    "OutboxEntry",
    "RedisStore",
    "SQLiteStore",
    "StoredState",
]
