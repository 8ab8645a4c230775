"""The Redis store's connection: URLs, the client, the Lua scripts, errors, closing.

:class:`RedisConnection` is the part of :class:`~slack_batcher.store.RedisStore` that knows
nothing of batches: one redis-py client (made from a URL by :func:`connect`, which follows
Sentinel failovers and retries connection errors), the store's registered Lua scripts, key
names under the prefix, and Redis errors turned into
:class:`~slack_batcher.model.errors.StoreError` naming the server (never its password).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote

from ...model.errors import StoreError
from ..describe import redacted_url
from .lua import SCRIPTS
from .shared_lua import SHARED_SCRIPTS

if TYPE_CHECKING:
    import redis

__all__ = ["SENTINEL_SCHEME", "RedisConnection", "connect", "redacted_url"]

SENTINEL_SCHEME = "redis+sentinel://"


def _sentinel_client(url: str, options: dict[str, Any]) -> redis.Redis:
    """Connect through Sentinel: ``redis+sentinel://[:pw@]host:port[,host:port]/service[/db]``.

    The client asks the sentinels for the current primary on every reconnect, so it follows
    a failover by itself.
    """
    from redis.sentinel import Sentinel

    rest = url[len(SENTINEL_SCHEME) :]
    credentials, _, rest = rest.rpartition("@")
    hosts, _, path = rest.partition("/")
    service, _, db = path.partition("/")
    if not hosts or not service:
        raise StoreError(
            "store.url: a Sentinel URL is redis+sentinel://host:port[,host:port]/service[/db]"
        )
    username, _, password = credentials.partition(":") if credentials else ("", "", "")
    nodes = []
    for node in hosts.split(","):
        host, colon, port = node.rpartition(":")
        if not colon or "]" in port:  # no port (a bare host, or [::1])
            host, port = node, ""
        nodes.append((host, int(port) if port else 26379))  # ValueError: not a number
    timeouts = {k: options[k] for k in ("socket_timeout", "socket_connect_timeout")}
    sentinel = Sentinel(nodes, sentinel_kwargs=timeouts, **timeouts)  # type: ignore[no-untyped-call,unused-ignore]  # unannotated in older redis-py
    client: redis.Redis = sentinel.master_for(  # type: ignore[no-untyped-call,unused-ignore]  # same
        service,
        db=int(db or 0),
        username=unquote(username) or None,
        password=unquote(password) or None,
        decode_responses=True,
        **options,
    )
    return client


def connect(url: str, **options: Any) -> redis.Redis:
    """Return a redis-py client for *url* that retries connection errors with backoff.

    ``redis://``, ``rediss://`` (TLS) and ``unix://`` URLs go to one server;
    ``redis+sentinel://host:port[,host:port]/service[/db]`` to the primary the sentinels
    name (followed across failovers).
    """
    try:
        import redis as redis_lib
        from redis.backoff import ExponentialBackoff
        from redis.retry import Retry
    except ImportError as exc:  # pragma: no cover - the extra is part of dev installs
        raise StoreError(
            "the Redis store needs redis-py: pip install 'slack-batcher[redis]'"
        ) from exc
    options.setdefault("socket_timeout", 5.0)
    options.setdefault("socket_connect_timeout", 2.0)
    options.setdefault("health_check_interval", 30)
    options.setdefault("retry", Retry(ExponentialBackoff(cap=1.0, base=0.05), 3))
    options.setdefault("retry_on_error", [redis_lib.ConnectionError, redis_lib.TimeoutError])
    try:
        if url.startswith(SENTINEL_SCHEME):
            return _sentinel_client(url, options)
        client: redis.Redis = redis_lib.Redis.from_url(url, decode_responses=True, **options)
    except ValueError as exc:  # a port or db that is not a number, an unknown scheme, …
        raise StoreError(f"store.url {redacted_url(url)}: {exc}") from None
    return client


def _plain(error: BaseException) -> str:
    """Say what redis-py's *error* says without the client reprs Sentinel errors carry."""
    said = str(error)
    head, blob, _ = said.partition(" : <redis.")
    if not blob:
        return said
    _, dash, why = said.rpartition(" - ")
    return f"{head} ({why})" if dash else head


class RedisConnection:
    """One Redis client with the store's scripts; see :class:`~slack_batcher.store.RedisStore`."""

    def __init__(
        self,
        url: str | None = None,
        *,
        prefix: str = "slack-batcher",
        client: redis.Redis | None = None,
    ) -> None:
        if (url is None) == (client is None):
            raise ValueError("RedisStore: give exactly one of url= or client=")
        if not prefix or any(ch in prefix for ch in "{}"):
            raise ValueError(f"prefix: must be non-empty and free of braces, got {prefix!r}")
        self.url = redacted_url(url) if url is not None else "redis (client)"
        self.prefix = prefix
        self._owns_client = client is None
        self.client: redis.Redis = client if client is not None else connect(url or "")
        scripts = {**SCRIPTS, **SHARED_SCRIPTS}
        self._scripts = {name: self.client.register_script(text) for name, text in scripts.items()}
        self._lock = threading.Lock()
        self._closed = False

    # ----------------------------------------------------------------- plumbing

    def describe(self) -> str:
        """Say which store this is, for the dashboard and the CLI (no password)."""
        return f"redis {self.url} (prefix {self.prefix!r})"

    def key(self, name: str) -> str:
        """Return the full name of a global key (``P:name``)."""
        return f"{self.prefix}:{name}"

    def run(self, script: str, *args: object) -> Any:
        """Run one of the store's Lua scripts; Redis errors become StoreError."""
        return self.call(self._scripts[script], keys=[], args=[self.prefix, *args])

    def run_pipelined(self, script: str, calls: list[list[object]]) -> list[Any]:
        """Run one script once per argument list, in one round trip; replies in order.

        A reply that failed on the server is an exception in the list; losing Redis
        raises StoreError.
        """
        pipe = self.client.pipeline(transaction=False)
        runner = self._scripts[script]
        for args in calls:
            runner(keys=[], args=cast(Any, [self.prefix, *args]), client=pipe)
        replies: list[Any] = self.call(pipe.execute, raise_on_error=False)
        return replies

    def call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        """Call a redis-py method; Redis errors become StoreError naming the server."""
        if self._closed:
            raise StoreError("the Redis store is closed")
        import redis as redis_lib

        try:
            return method(*args, **kwargs)
        except redis_lib.RedisError as exc:
            raise StoreError(f"Redis at {self.url}: {exc}") from exc

    def check_writable(self) -> str | None:
        """Return why the store cannot write now (Redis unreachable), or None (for /readyz)."""
        try:
            self.call(self.client.ping)
        except StoreError as exc:
            # Without the URL: /readyz is open. redis-py names host:port, never a password.
            cause = exc.__cause__
            return f"Redis does not answer: {_plain(cause)}" if cause is not None else str(exc)
        return None

    #: Always None: a failing Redis write raises StoreError; readiness asks
    #: :meth:`check_writable`.
    write_error: str | None = None

    def checkpoint(self) -> int:
        """Do nothing (Redis persists on its own); return 0."""
        return 0

    def group_commits(self) -> None:
        """Return None: each script applies at once."""
        return None

    def ping(self) -> bool:
        """Return True when Redis answers (for readiness checks)."""
        try:
            return bool(self.call(self.client.ping))
        except StoreError:
            return False

    # ------------------------------------------------------------------ closing

    def close(self) -> None:
        """Close the connection pool (when the store made it); the data stays in Redis."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._owns_client:
                self.client.close()
                # Through Sentinel: the connections to the sentinels too.
                manager = getattr(self.client.connection_pool, "sentinel_manager", None)
                for sentinel in getattr(manager, "sentinels", ()):
                    sentinel.close()
