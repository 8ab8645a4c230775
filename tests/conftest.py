"""Shared fixtures: a manual clock, and batchers over every store kind.

``STORE_KINDS`` maps a store name to a factory taking a directory; every test that uses
``make_batcher`` or ``store_factory`` runs once per kind. A kind that needs a service
(Redis) starts it in its fixture; nothing is skipped for a missing service.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from slack_batcher import BatchConfig, ManualClock, MemoryStore, MessageBatcher, SQLiteStore
from slack_batcher.store import BatchStore
from slack_batcher.testing import FakeSlack

StoreFactory = Callable[[], BatchStore]


def redis_store(directory: Path) -> BatchStore:
    """A RedisStore on the session's redis-server; one key prefix per directory (per test)."""
    from slack_batcher.store.redis.store import RedisStore
    from tests.redis_server import shared_server

    prefix = "t" + hashlib.sha1(str(directory).encode()).hexdigest()[:12]
    return RedisStore(shared_server().url, prefix=prefix)


STORE_KINDS: dict[str, Callable[[Path], BatchStore]] = {
    "memory": lambda directory: MemoryStore(),
    "sqlite": lambda directory: SQLiteStore(directory / "store.db"),
    "redis": redis_store,
}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC))


#: The bot token the ``slack`` fixture's FakeSlack accepts.
SLACK_TOKEN = "xoxb-fake-token"


@pytest.fixture
async def slack(clock: ManualClock) -> AsyncIterator[FakeSlack]:
    """A FakeSlack on 127.0.0.1 on the test's ManualClock, accepting :data:`SLACK_TOKEN`."""
    async with FakeSlack(token=SLACK_TOKEN, clock=clock) as server:
        yield server


@pytest.fixture(params=sorted(STORE_KINDS))
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_factory(store_kind: str, tmp_path: Path) -> Iterator[StoreFactory]:
    """Open the store of this kind; calling it again reopens the same state (a restart)."""
    opened: list[BatchStore] = []

    def open_store() -> BatchStore:
        if store_kind == "memory" and opened:
            return opened[0]  # a memory store "survives" only within the process
        store = STORE_KINDS[store_kind](tmp_path)
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        with contextlib.suppress(Exception):  # a test may have closed it already
            store.close()


@pytest.fixture
def make_batcher(store_factory: StoreFactory, clock: ManualClock) -> Callable[..., MessageBatcher]:
    def make(config: BatchConfig | None = None, **kwargs: Any) -> MessageBatcher:
        kwargs.setdefault("clock", clock)
        kwargs.setdefault("store", store_factory())
        return MessageBatcher(config, **kwargs)

    return make
