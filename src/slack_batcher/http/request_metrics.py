"""HTTP request metrics: how many requests, and how long they took, by route and status.

Requests are labelled with the route *template* (``/v1/batches/{batch_id}/flush``), never
the raw path, so ids cannot blow up the number of series; a path that matches no route is
``unmatched``. The middleware sits outermost, so refusals made before routing (413, 421,
403) are counted and timed as well.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["UNMATCHED", "RequestMetricsMiddleware", "route_template"]

UNMATCHED = "unmatched"
#: Methods counted by name; any other (a client may send any token) is ``OTHER``.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: Latency buckets in seconds: ingest is sub-millisecond, a flush of many batches is longer.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


def route_template(scope: Scope, patterns: Sequence[tuple[re.Pattern[str], str]]) -> str:
    """Return the path template of the route that serves (or would serve) *scope*.

    The router records the route it picked; a request refused before routing (413, 421,
    403) is matched against *patterns* (compiled templates) instead.
    """
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str):
        return path
    for pattern, template in patterns:
        if pattern.match(scope["path"]):
            return template
    return UNMATCHED


class RequestMetricsMiddleware:
    """Count and time every HTTP request into *registry*; *templates* name refused requests."""

    def __init__(
        self, app: ASGIApp, *, registry: CollectorRegistry, templates: Iterable[str]
    ) -> None:
        self.app = app
        self.patterns = [(compile_path(template)[0], template) for template in templates]
        labels = ["method", "route", "status"]
        self.requests = Counter(
            "slack_batcher_http_requests",
            "HTTP requests answered, by method, route template and status code.",
            labels,
            registry=registry,
        )
        self.latency = Histogram(
            "slack_batcher_http_request_duration_seconds",
            "Seconds from receiving an HTTP request to sending its response headers, by "
            "method, route template and status code.",
            labels,
            registry=registry,
            buckets=BUCKETS,
        )
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, recording its route, status and duration as it is answered."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception before the response started is answered 500
        elapsed: float | None = None
        recorded = False

        def record() -> None:
            nonlocal recorded
            recorded = True
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            labels = (method, route_template(scope, self.patterns), status)
            children = self._children.get(labels)
            if children is None:  # labels() takes a lock and builds a key: once per series
                method, route, code = labels
                children = self._children[labels] = (
                    self.requests.labels(method, route, str(code)),
                    self.latency.labels(method, route, str(code)),
                )
            children[0].inc()
            children[1].observe(elapsed if elapsed is not None else time.perf_counter() - started)

        async def recording_send(message: Message) -> None:
            nonlocal status, elapsed
            if message["type"] == "http.response.start":
                status = int(message["status"])
                elapsed = time.perf_counter() - started
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                # Counted before the last byte leaves: a client that reads /metrics right
                # after its answer must find its request there.
                record()
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            if not recorded:
                record()
