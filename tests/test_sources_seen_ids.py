"""Redeliveries recognised by the store: across a restart (SQLite) and across instances (Redis).

A source message id is remembered only once its messages are stored: a store that fails
answers 503 and leaves the id free, so the redelivery is accepted (at-least-once).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from slack_batcher import BatchingService, ManualClock, MemoryStore
from slack_batcher.delivery.slack import SlackSender
from slack_batcher.http import create_app
from slack_batcher.http.server import build_service
from slack_batcher.http.settings import ServiceSettings, StoreSettings
from slack_batcher.model.batch import BatchGroup
from slack_batcher.model.errors import StoreError
from slack_batcher.model.message import BatchableMessage
from slack_batcher.routing.table import parse_routes
from slack_batcher.sources.samples import github_event, signed_request
from slack_batcher.sources.settings import SourcesSettings
from slack_batcher.store.base import SeenIds
from slack_batcher.store.recent_ids import RecentIds
from slack_batcher.store.redis.seen import RedisSeen
from slack_batcher.store.redis.store import RedisStore
from slack_batcher.store.sqlite import schema as _sqlite_schema
from slack_batcher.store.sqlite.seen import PRUNE_EVERY, SQLiteSeen
from slack_batcher.store.sqlite.store import SQLiteStore
from slack_batcher.testing import FakeSlack
from tests.redis_server import RedisServer, free_port
from tests.serve_process import clean_env, serve_command, wait_ready
from tests.test_http_harness import make_service, server_settings

SECRET = "gh-secret-0123456789"
PR = github_event("pull_request", "opened", title="Add auth")
ROUTES = [{"source": "github", "channel": "#dev"}]
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


def deliver(client: httpx.Client, delivery: str) -> httpx.Response:
    raw, headers = signed_request("github", PR, SECRET, event="pull_request", delivery=delivery)
    return client.post("/v1/sources/github", content=raw, headers=headers)


# ------------------------------------------------------------- a real restart


def _serve(config: Path, port: int) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        serve_command(config),
        env={**clean_env(), "SLACK_BATCHER_SOURCES__GITHUB__SECRET": SECRET},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_ready(f"http://127.0.0.1:{port}", process, time.monotonic() + 30)
    return process


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr


def test_a_redelivery_after_a_restart_is_a_duplicate_and_posts_nothing(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "service.toml"
    posts = tmp_path / "posts.jsonl"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path}/batches.db"\n'
        f'[sender]\nkind = "jsonl"\njsonl_path = "{posts}"\n'
        f"[server]\nport = {port}\n"
        '[[routes]]\nsource = "github"\nchannel = "#dev"\n'
    )
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        first = _serve(config, port)
        try:
            assert deliver(client, "d-restart").json()["status"] == "accepted"
        finally:
            _stop(first)  # shutdown flushes the batch and posts it
        assert len(posts.read_text().splitlines()) == 1
        second = _serve(config, port)
        try:
            again = deliver(client, "d-restart")
            assert again.status_code == 202
            assert again.json()["status"] == "duplicate" and again.json()["duplicates"] == 1
        finally:
            _stop(second)
    [posted] = [json.loads(line) for line in posts.read_text().splitlines()]
    assert posted["text"] == "PR update: #42 Add auth — opened (alice)", "posted once"


# ---------------------------------------------- the order: stored, then remembered


class FailingOnce(SQLiteStore):
    """A SQLite store whose next new batch fails to be written."""

    fail = False

    def record_open(self, batch: BatchGroup, message: BatchableMessage) -> None:
        if self.fail:
            self.fail = False
            raise StoreError("disk full (test)")
        super().record_open(batch, message)


@asynccontextmanager
async def app_on(
    store: Any, clock: ManualClock, slack: FakeSlack
) -> AsyncIterator[tuple[httpx.AsyncClient, BatchingService]]:
    service = make_service(slack, clock, store=store)
    async with service:
        app = create_app(
            service,
            settings=server_settings(),
            sources=SourcesSettings.model_validate({"github": {"secret": SECRET}}),
            routes=parse_routes(ROUTES),
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client, service


async def adeliver(client: httpx.AsyncClient, delivery: str) -> httpx.Response:
    raw, headers = signed_request("github", PR, SECRET, event="pull_request", delivery=delivery)
    return await client.post("/v1/sources/github", content=raw, headers=headers)


async def test_a_delivery_the_store_failed_to_write_is_not_remembered(
    tmp_path: Path, clock: ManualClock
) -> None:
    store = FailingOnce(tmp_path / "store.db")
    with FakeSlack(clock=clock, posts_per_second=None) as slack:
        async with app_on(store, clock, slack) as (client, service):
            store.fail = True
            failed = await adeliver(client, "d-1")
            assert failed.status_code == 503
            retried = await adeliver(client, "d-1")
            assert retried.json()["status"] == "accepted", "the first delivery is not lost"
            service.batcher.flush_all_batches()
            assert (await adeliver(client, "d-1")).json()["status"] == "duplicate"
        service.batcher.close()


async def test_a_memory_store_remembers_ids_in_the_process(clock: ManualClock) -> None:
    store = MemoryStore()
    with FakeSlack(clock=clock, posts_per_second=None) as slack:
        async with app_on(store, clock, slack) as (client, service):
            assert (await adeliver(client, "d-1")).json()["status"] == "accepted"
            service.batcher.flush_all_batches()
            assert (await adeliver(client, "d-1")).json()["status"] == "duplicate"
        service.batcher.close()
    assert isinstance(store.seen_ids(10, WEEK), RecentIds)


# ---------------------------------------------------------- the SQLite table


def test_the_seen_ids_table_stays_bounded_by_count_and_by_age(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "store.db") as store:
        seen = store.seen_ids(100, WEEK)
        for n in range(250):
            seen.confirm([f"id-{n}"], T0 + timedelta(seconds=n))
        assert 100 <= _rows(store) <= 100 + PRUNE_EVERY
        assert seen.claim(["id-100", "id-150", "id-249"], T0) == {
            "id-100": "new", "id-150": "seen", "id-249": "seen",
        }  # fmt: skip
        later = T0 + WEEK + timedelta(hours=1)
        assert seen.claim(["id-249"], later) == {"id-249": "new"}, "too old to count"
        for n in range(10):  # a prune removes more expired rows than were added since
            seen.confirm([f"new-{n}"], later)
        assert _rows(store) == 10, "the expired ones went"
    with SQLiteStore(tmp_path / "store.db") as reopened:
        assert reopened.seen_ids(100, WEEK).claim(["new-9"], later) == {"new-9": "seen"}


def _rows(store: SQLiteStore) -> int:
    with store._reading("counting") as conn:
        return int(conn.execute("SELECT count(*) FROM seen_ids").fetchone()[0])


def test_a_version_3_file_gains_the_seen_ids_table_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store.db"
    with monkeypatch.context() as patch:
        patch.delitem(_sqlite_schema.MIGRATIONS, 4)
        patch.setattr(_sqlite_schema, "SCHEMA_VERSION", 3)
        with SQLiteStore(path) as old:
            old.set_thread("k", "1.0", T0 + WEEK)
    with SQLiteStore(path) as store:
        assert store.get_thread("k", T0) == "1.0"
        seen = store.seen_ids(10, WEEK)
        seen.confirm(["a"], T0)
        assert seen.claim(["a", "b"], T0) == {"a": "seen", "b": "new"}
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == _sqlite_schema.SCHEMA_VERSION
    finally:
        conn.close()


def test_every_store_offers_a_seen_ids_capability(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "store.db") as store:
        assert isinstance(store.seen_ids(10, WEEK), SQLiteSeen)
        assert isinstance(store.seen_ids(10, WEEK), SeenIds)
    assert isinstance(RecentIds(10), SeenIds)


# -------------------------------------------------------------- shared Redis


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.close()


def test_one_of_two_instances_claiming_an_id_at_once_gets_it(private_redis: RedisServer) -> None:
    prefix = f"seen-{uuid.uuid4().hex}"
    a = RedisStore(private_redis.url, prefix=prefix)
    b = RedisStore(private_redis.url, prefix=prefix)
    try:
        first, second = a.seen_ids(100, WEEK), b.seen_ids(100, WEEK)
        assert isinstance(first, RedisSeen) and isinstance(first, SeenIds)
        assert first.claim(["x", "y"], T0) == {"x": "new", "y": "new"}
        assert second.claim(["x", "z"], T0) == {"x": "busy", "z": "new"}
        first.confirm(["x"], T0)
        first.release(["y"])
        second.release(["z"])
        assert second.claim(["x", "y", "z"], T0) == {"x": "seen", "y": "new", "z": "new"}
        ttl = b.client.ttl(f"{prefix}:seen:x")
        assert 0 < ttl <= WEEK.total_seconds()
        second.confirm(["y", "z"], T0)
        second.release(["x"])  # an accepted id is not another's to release
        assert first.claim(["x"], T0) == {"x": "seen"}
    finally:
        a.close()
        b.close()


async def test_two_service_instances_on_one_redis_see_each_others_ids(
    private_redis: RedisServer, clock: ManualClock
) -> None:
    prefix = f"seen-{uuid.uuid4().hex}"
    with FakeSlack(clock=clock, posts_per_second=None) as slack:
        settings = ServiceSettings(store=StoreSettings(url=private_redis.url, prefix=prefix))
        sender = SlackSender(slack.token or "xoxb-any", base_url=slack.base_url)
        services = [build_service(settings, clock=clock, sender=sender) for _ in range(2)]
        sources = SourcesSettings.model_validate({"github": {"secret": SECRET}})
        clients = []
        for service in services:
            await service.start()
            app = create_app(
                service, settings=server_settings(), sources=sources, routes=parse_routes(ROUTES)
            )
            transport = httpx.ASGITransport(app=app)
            clients.append(httpx.AsyncClient(transport=transport, base_url="http://testserver"))
        try:
            assert (await adeliver(clients[0], "d-9")).json()["status"] == "accepted"
            services[0].batcher.flush_all_batches()
            again = await adeliver(clients[1], "d-9")
            assert again.status_code == 202 and again.json()["status"] == "duplicate"
            assert (await adeliver(clients[1], "d-10")).json()["status"] == "accepted"
            assert (await adeliver(clients[0], "d-10")).json()["status"] == "duplicate"
            # A third instance is accepting d-11 right now: redeliver later, never dropped.
            other = RedisStore(private_redis.url, prefix=prefix)
            elsewhere = other.seen_ids(100, WEEK)
            assert elsewhere.claim(["github:d-11"], clock.now()) == {"github:d-11": "new"}
            busy = await adeliver(clients[0], "d-11")
            assert busy.status_code == 503 and busy.headers["Retry-After"] == "5"
            elsewhere.release(["github:d-11"])  # its store write failed
            other.close()
            assert (await adeliver(clients[1], "d-11")).json()["status"] == "accepted"
        finally:
            for client in clients:
                await client.aclose()
            for service in services:
                await service.aclose()
                service.batcher.close()
