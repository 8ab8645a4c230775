"""Shared harness for the service tests: the app over a real runtime and a FakeSlack.

``in_process(...)`` drives the app through httpx's ASGI transport (async tests);
``LiveServer`` runs ``slack-batcher serve``'s uvicorn server in a thread on a free port of
127.0.0.1 (CLI, browser, fuzzing and benchmark tests). Both deliver to a FakeSlack through
the real SlackSender (slack_sdk), on a ManualClock unless told otherwise.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from pydantic import SecretStr

from slack_batcher import BatchConfig, ManualClock, MemoryStore, MessageBatcher
from slack_batcher.delivery import SlackSender
from slack_batcher.http import create_app
from slack_batcher.http.server import build_service
from slack_batcher.http.settings import ServerSettings, ServiceSettings
from slack_batcher.model.clock import Clock
from slack_batcher.runtime import BatchingService
from slack_batcher.store import BatchStore
from slack_batcher.testing import FakeSlack

TOKEN = "sb-test-token-5f0c2a9e"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def event(
    id: str,
    channel: str = "#dev-api",
    *,
    content_type: str = "pr_update",
    author: str = "alice",
    title: str = "Add auth",
    priority: str = "medium",
    **data: Any,
) -> dict[str, Any]:
    """A PR event as the HTTP API takes it."""
    return {
        "id": id,
        "channel": channel,
        "content_type": content_type,
        "author": author,
        "priority": priority,
        "timestamp": "2026-03-02T09:00:00Z",
        "data": {
            "repository": "acme/api",
            "number": 42,
            "title": title,
            "action": "opened",
            "url": "https://github.com/acme/api/pull/42",
            **data,
        },
    }


def make_service(
    slack: FakeSlack,
    clock: Clock,
    *,
    store: BatchStore | None = None,
    config: BatchConfig | None = None,
) -> BatchingService:
    """The service `serve` builds, with a FakeSlack as Slack."""
    settings = ServiceSettings(batching=config or BatchConfig())
    sender = SlackSender(slack.token or "xoxb-any", base_url=slack.base_url)
    return build_service(
        settings,
        clock=clock,
        store=store if store is not None else MemoryStore(),
        sender=sender,
    )


def server_settings(token: str | None = TOKEN, **values: Any) -> ServerSettings:
    """Server settings with the test token (None: no token)."""
    return ServerSettings(api_token=SecretStr(token) if token else None, **values)


@dataclass
class InProcess:
    """An app and the parts behind it, driven in-process."""

    client: httpx.AsyncClient
    service: BatchingService
    batcher: MessageBatcher
    slack: FakeSlack
    clock: ManualClock


@asynccontextmanager
async def in_process(
    clock: ManualClock,
    *,
    token: str | None = TOKEN,
    channels: Iterable[str] | None = None,
    **server: Any,
) -> AsyncIterator[InProcess]:
    """Run the app in-process over a started service; FakeSlack knows *channels* only."""
    with FakeSlack(clock=clock, posts_per_second=None, channels=channels) as slack:
        service = make_service(slack, clock)
        async with service:
            app = create_app(service, settings=server_settings(token, **server))
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://127.0.0.1:8787"
            ) as client:
                yield InProcess(client, service, service.batcher, slack, clock)
        service.batcher.close()


def free_socket() -> socket.socket:
    """A listening-ready socket bound to a free port of 127.0.0.1."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class LiveServer:
    """The service's uvicorn server in a background thread, on a free port of 127.0.0.1."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        token: str | None = TOKEN,
        channels: Iterable[str] | None = None,
        **server: Any,
    ) -> None:
        self.clock = clock if clock is not None else ManualClock()
        self.slack = FakeSlack(clock=self.clock, posts_per_second=None, channels=channels)
        self.token = token
        self._server_values = server
        self._thread: threading.Thread | None = None
        self._uvicorn: uvicorn.Server | None = None
        self.service: BatchingService | None = None
        self.url = ""

    def __enter__(self) -> LiveServer:
        self.slack.start()
        self.service = make_service(self.slack, self.clock)
        app = create_app(
            self.service,
            settings=server_settings(self.token, **self._server_values),
            manage_service=True,
        )
        sock = free_socket()
        host, port = sock.getsockname()
        self.url = f"http://{host}:{port}"
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
        self._uvicorn = server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self.service is not None:
            self.service.batcher.close()
        self.slack.stop()

    @property
    def batcher(self) -> MessageBatcher:
        """The batcher behind the server."""
        assert self.service is not None
        return self.service.batcher

    def client(self) -> httpx.Client:
        """A client with the API token."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> None:
        """Poll *predicate* (a short poll on a real server) until it holds."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("condition not reached in time")
            time.sleep(0.02)
