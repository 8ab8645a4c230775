"""Running the service: build it from settings, check the bind address, serve with uvicorn."""

from __future__ import annotations

import asyncio
import gc
import ipaddress
import json
import logging
import resource
import socket
import sys
from datetime import UTC, datetime
from types import FrameType

import uvicorn

from ..core.batcher import MessageBatcher
from ..core.log_fields import LOG_FIELDS
from ..delivery.base import Sender
from ..formatting.factory import SlackMessageFormatterFactory
from ..model.clock import Clock
from ..model.errors import ConfigError
from ..runtime.service import BatchingService
from ..store.base import BatchStore
from ..store.redis.store import RedisStore
from .app import create_app
from .exhaustion import RepeatFilter, install_exhaustion_handler
from .head_timeout import head_timeout_protocol
from .recent import RecordingSender
from .settings import LoggingSettings, SenderSettings, ServiceSettings

__all__ = [
    "build_sender",
    "build_service",
    "build_store",
    "check_bind",
    "configure_logging",
    "connection_limit",
    "describe_sender",
    "is_loopback",
    "serve",
    "store_unreachable",
    "tune_gc",
]

logger = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    """Return True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(settings: ServiceSettings) -> str:
    """Refuse a non-loopback bind without an API token; return what to tell the operator."""
    host = settings.server.host
    if settings.server.token() is not None:
        return f"API token required on /v1 routes; listening on {host}"
    if not is_loopback(host):
        raise ConfigError(
            [
                f"server.host: {host!r} is reachable from other machines, and no API token is "
                "set (an empty one counts as none); set SLACK_BATCHER_API_TOKEN (or "
                "server.api_token, at least 16 characters), or bind 127.0.0.1"
            ]
        )
    return (
        f"no API token set (SLACK_BATCHER_API_TOKEN): the API is open, so the server "
        f"listens on loopback ({host}) only and answers only loopback host names"
    )


def build_store(url: str, *, prefix: str = "slack-batcher") -> BatchStore:
    """Open the store named by *url*: ``sqlite:///path``, ``memory://`` or a Redis URL.

    *prefix* is the Redis key prefix (ignored by the other stores).
    """
    if url.startswith(("redis://", "rediss://", "redis+sentinel://", "unix://")):
        return RedisStore(url, prefix=prefix)
    if url == "memory://":
        from ..store.memory import MemoryStore

        return MemoryStore()
    if url.startswith("sqlite:///"):
        from ..store.sqlite.store import SQLiteStore

        return SQLiteStore(url.removeprefix("sqlite:///"))
    raise ConfigError(
        [
            f"store.url: unsupported store {url!r} (use sqlite:///path, redis://host:port/db or memory://)"
        ]
    )


def store_unreachable(store: BatchStore) -> str | None:
    """Return why a store on another server (Redis) does not answer now, or None.

    ``serve`` asks before it starts, so an unreachable host, a wrong database or password,
    a missing socket or an unreachable Sentinel is one line and exit 2, not a traceback.
    """
    shared = store.shared_store()  # Redis: the store itself, on its own server
    return shared.check_writable() if shared is not None else None


def build_sender(settings: SenderSettings, *, clock: Clock | None = None) -> Sender:
    """Build the sender the settings select (see :meth:`SenderSettings.resolved_kind`)."""
    kind = settings.resolved_kind()
    if kind == "slack":
        from ..delivery.slack import SlackSender

        if settings.slack_bot_token is None:
            raise ConfigError(["sender.slack_bot_token: required for kind = 'slack'"])
        return SlackSender(
            settings.slack_bot_token.get_secret_value(),
            base_url=settings.slack_api_url,
            timeout=settings.timeout_seconds,
        )
    if kind == "webhook":
        from ..delivery.webhook import WebhookSender

        if settings.webhook_url is None:
            raise ConfigError(["sender.webhook_url: required for kind = 'webhook'"])
        return WebhookSender(
            settings.webhook_url.get_secret_value(), timeout=settings.timeout_seconds
        )
    if kind == "console":
        from ..delivery.console import ConsoleSender

        return ConsoleSender()
    from ..delivery.jsonl import JsonlSender

    return JsonlSender(settings.jsonl_path, clock=clock)


def describe_sender(settings: SenderSettings) -> str:
    """Say where posts go: the sender's kind and, for a dry run, the file that receives them."""
    kind = settings.resolved_kind()
    if kind == "jsonl":
        return f"jsonl (dry run: posts are appended to {settings.jsonl_path.resolve()})"
    if kind == "console":
        return "console (dry run: posts are printed to standard output)"
    if kind == "slack":
        return f"slack ({settings.slack_api_url})"
    return kind


def build_service(
    settings: ServiceSettings,
    *,
    clock: Clock | None = None,
    store: BatchStore | None = None,
    sender: Sender | None = None,
) -> BatchingService:
    """Build the batcher (with the default formatters), its store and the runtime.

    The sender is wrapped in a :class:`RecordingSender` so the dashboard can show recent
    posts. Nothing is started: run it with ``async with`` or ``create_app(manage_service=)``.

    A store several instances share (Redis: ``store.shared_store()``) holds the pending
    batches too (:class:`~slack_batcher.store.redis.pending.RedisBatches`) and the pacing
    (:class:`~slack_batcher.delivery.shared_pacing.SharedPacer`), so every instance given
    the same URL and prefix works on one set of batches.
    """
    if store is None:
        store = build_store(settings.store.url, prefix=settings.store.prefix)
    pacer = None
    pending = None
    shared = store.shared_store()
    if shared is not None:
        from ..delivery.shared_pacing import SharedPacer
        from ..store.redis.pending import RedisBatches

        pending = RedisBatches(
            shared,
            clock=clock,
            claim_seconds=2 * settings.store.lease_seconds,
            lease_seconds=settings.store.lease_seconds,
            poll_seconds=settings.store.poll_seconds,
        )
        pacer = SharedPacer(shared, settings.delivery.pacing_policy())
    batcher = MessageBatcher(
        settings.batch_config,
        SlackMessageFormatterFactory(),
        clock=clock,
        store=store,
        auto_ack=False,
        pending=pending,
    )
    # Per-route batching overrides (the first route naming a channel wins: docs/sources.md).
    for channel, config in settings.routes.channel_configs(settings.batch_config).items():
        batcher.configure_channel(channel, config)
    inner = sender if sender is not None else build_sender(settings.sender, clock=batcher.clock)
    recording = RecordingSender(inner, clock=batcher.clock)
    return BatchingService(batcher, recording, config=settings.delivery, pacer=pacer)


#: The serving process's young-generation collection threshold (CPython's default: 700).
GC_YOUNG_THRESHOLD = 10_000


def tune_gc() -> None:
    """Set up the garbage collector of a process that serves requests (``slack-batcher serve``).

    Each request waiting for its group commit keeps ~70 objects alive (its coroutine frames
    through the middleware), so a turn of ten such requests crossed CPython's default
    threshold of 700: nearly every group commit paid a collection, and each one promoted the
    waiting frames until full collections of the whole heap followed (a third of the SQLite
    service's CPU per request over the memory store's, measured in-process). A higher
    threshold lets those requests finish first; freezing what start-up built (modules, the
    app, the service) keeps it out of every later full collection. Call it once, after the
    service is built; it changes the whole process, so the library never calls it.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def connection_limit(configured: int | None) -> int:
    """Return the connections to serve at once: *configured*, else half of ``ulimit -n``.

    The other half is left for the store, the log, Slack connections and the connections
    uvicorn accepts only to answer 503; at most 1000, at least 16.
    """
    if configured is not None:
        return configured
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1000
    return max(16, min(1000, soft // 2))


class _Server(uvicorn.Server):
    """uvicorn's server, telling the service at once when a shutdown signal arrives.

    uvicorn first waits for open requests and only then runs the app's shutdown; meanwhile
    the service must already refuse new events and ``/readyz`` must say 503.
    """

    def __init__(self, config: uvicorn.Config, service: BatchingService) -> None:
        super().__init__(config)
        self._service = service

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        loop = self._service.loop
        if loop is not None and not loop.is_closed():
            # A signal handler: hand the call to the loop rather than run it mid-step.
            loop.call_soon_threadsafe(self._service.request_shutdown)


class _JsonFormatter(logging.Formatter):
    """One JSON object a line; ``channel``, ``batch_id``, ``outbox_id``, ``error_code`` as keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in LOG_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(settings: LoggingSettings) -> None:
    """Send the service's logs to standard error, as text or JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    if settings.format == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.level)


async def serve(
    settings: ServiceSettings,
    *,
    sock: socket.socket | None = None,
    service: BatchingService | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM; the service drains its outbox before the process exits.

    *sock* is an already bound socket (tests pass one on a free port); otherwise the server
    binds ``server.host:server.port`` after :func:`check_bind` allowed it. *service* is one
    already built by :func:`build_service` (default: built here); its store is closed on the
    way out.
    """
    note = check_bind(settings)
    if service is None:
        service = build_service(settings)
    app = create_app(
        service,
        settings=settings.server,
        manage_service=True,
        sources=settings.sources,
        routes=settings.routes,
        slack=settings.slack,
        people=settings.people.people(),
    )
    limit = connection_limit(settings.server.max_connections)
    config = uvicorn.Config(
        app,
        host=settings.server.host,
        port=settings.server.port,
        log_config=None,
        access_log=False,
        server_header=False,
        lifespan="on",
        limit_concurrency=limit,
        backlog=settings.server.backlog,
        http=head_timeout_protocol(settings.server.max_head_seconds),
    )
    server = _Server(config, service)
    uvicorn_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, RepeatFilter) for f in uvicorn_log.filters):
        uvicorn_log.addFilter(RepeatFilter(("Exceeded concurrency limit.",)))
    install_exhaustion_handler(
        asyncio.get_running_loop(),
        hint=f"serving at most {limit} connections (server.max_connections); raise ulimit -n",
    )
    logger.info("slack-batcher %s; sender: %s", note, describe_sender(settings.sender))
    try:
        await server.serve(sockets=[sock] if sock is not None else None)
    finally:
        service.batcher.close()
