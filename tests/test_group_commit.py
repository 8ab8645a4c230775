"""Group commit in the service: one SQLite commit per event-loop turn, done before any answer."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import httpx
import pytest

from slack_batcher import (
    BatchConfig,
    BatchingService,
    ManualClock,
    MessageBatcher,
    ServiceConfig,
    SQLiteStore,
    StoreError,
    StoreFullError,
)
from slack_batcher.delivery.console import ConsoleSender
from slack_batcher.http import create_app
from slack_batcher.testing import FakeSlack
from tests.factories import pr


def stored_ids(path: Path) -> set[str]:
    """Read the file as another process would: only what is committed."""
    conn = sqlite3.connect(path)
    try:
        return {row[0] for row in conn.execute("SELECT message_id FROM messages")}
    finally:
        conn.close()


def service_on(store: SQLiteStore, clock: ManualClock, **config: object) -> BatchingService:
    batcher = MessageBatcher(
        BatchConfig(max_batch_size=1000), clock=clock, store=store, auto_ack=False
    )
    return BatchingService(batcher, ConsoleSender(), config=ServiceConfig(**config))  # type: ignore[arg-type]


async def test_submits_of_one_turn_share_one_commit_made_before_they_return(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "store.db"
    store = SQLiteStore(path)
    async with service_on(store, clock) as service:
        submits = [service.submit(pr(f"gh-{n}"), f"C{n % 5}") for n in range(50)]
        await asyncio.gather(*submits)

        assert stored_ids(path) == {f"gh-{n}" for n in range(50)}  # durable on return
        group = service.group_commit
        assert group is not None and group.groups == 1 and group.writes == 50

        await service.submit(pr("gh-late"), "C1")
        assert "gh-late" in stored_ids(path)
        assert group.groups == 2
    store.close()


async def test_without_group_commit_each_submit_commits_alone(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "store.db"
    store = SQLiteStore(path)
    async with service_on(store, clock, group_commit=False) as service:
        await asyncio.gather(*(service.submit(pr(f"gh-{n}"), "C1") for n in range(10)))
        assert service.group_commit is None
        assert len(stored_ids(path)) == 10
    store.close()


class CommitFails(SQLiteStore):
    """A store whose group commit fails and rolls back, as SQLite does on a full disk.

    (``tests/test_service_full_disk.py`` shows the same with a real full disk.)
    """

    failing = False

    def commit_group(self) -> None:
        if self.failing and self._depth == 1:
            self._depth = 0
            self._seqs.clear()
            assert self._conn is not None
            self._conn.execute("ROLLBACK")
            raise StoreFullError(f"{self.path}: committing a group failed: the disk is full")
        super().commit_group()


async def test_a_failed_group_commit_refuses_that_turn_and_every_later_event(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "store.db"
    store = CommitFails(path)
    async with service_on(store, clock) as service:
        await service.submit(pr("gh-kept"), "C1")
        store.failing = True
        results = await asyncio.gather(
            *(service.submit(pr(f"gh-{n}"), "C1") for n in range(3)), return_exceptions=True
        )
        assert all(isinstance(r, StoreError) for r in results), results
        assert stored_ids(path) == {"gh-kept"}
        store.failing = False
        assert not service.accepting
        assert "restart the service" in (service.refusal or "")
        with pytest.raises(Exception, match="restart the service"):
            await service.submit(pr("gh-after"), "C1")
        assert service.needs_restart  # /healthz says so: an orchestrator restarts it
    store.close()


async def test_a_request_of_many_events_is_one_commit_done_before_the_202(
    tmp_path: Path, clock: ManualClock
) -> None:
    from tests.test_http_harness import AUTH, event, make_service, server_settings

    path = tmp_path / "store.db"
    store = SQLiteStore(path)
    with FakeSlack(clock=clock, posts_per_second=None) as slack:
        service = make_service(slack, clock, store=store, config=BatchConfig(max_batch_size=500))
        async with service:
            app = create_app(service, settings=server_settings())
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                events = [event(f"gh-{n}") for n in range(100)]
                response = await client.post("/v1/messages", json=events, headers=AUTH)
                assert response.status_code == 202
                assert stored_ids(path) == {f"gh-{n}" for n in range(100)}
                group = service.group_commit
                assert group is not None and group.writes == 1 and group.groups == 1
                assert (await client.get("/healthz")).json() == {"status": "ok"}
    store.close()


async def test_after_a_failed_group_commit_healthz_asks_for_a_restart(
    tmp_path: Path, clock: ManualClock
) -> None:
    store = CommitFails(tmp_path / "store.db")
    async with service_on(store, clock) as service:
        app = create_app(service)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            store.failing = True
            with pytest.raises(StoreError):
                await service.submit(pr("gh-1"), "C1")
            health = await client.get("/healthz")
            assert health.status_code == 503
            assert "restart the service" in health.json()["reason"]
            ready = await client.get("/readyz")
            assert ready.status_code == 503
    store.close()
