"""FakeSlack: a Slack-compatible HTTP server on 127.0.0.1, in a background thread."""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType
from typing import Any

from aiohttp import web

from ..clock import Clock, SystemClock
from ._records import Fault, Post, RecordedRequest
from ._workspace import Answer, Workspace

__all__ = ["FakeSlack"]

#: Status and body a webhook answers for a Slack error code (anything else: 400).
WEBHOOK_STATUS: dict[str, int] = {
    "invalid_payload": 400,
    "no_text": 400,
    "invalid_blocks": 400,
    "msg_too_long": 400,
    "too_many_attachments": 400,
    "user_not_found": 404,
    "channel_not_found": 404,
    "thread_not_found": 404,
    "no_service": 404,
    "action_prohibited": 403,
    "posting_to_general_channel_denied": 403,
    "invalid_token": 403,
    "team_disabled": 403,
    "channel_is_archived": 410,
    "is_archived": 410,
    "ratelimited": 429,
    "rollup_error": 500,
}
_SERVER_ERROR_PAGE = "<html><body><h1>{status}</h1>Slack is having trouble.</body></html>"


def _decode_blocks(params: dict[str, Any]) -> str | None:
    """Decode JSON-string ``blocks``/``attachments`` (form bodies); return an error code."""
    for name in ("blocks", "attachments"):
        value = params.get(name)
        if isinstance(value, str):
            try:
                params[name] = json.loads(value)
            except ValueError:
                return f"invalid_{name}_format"
    return None


async def _read_params(request: web.Request) -> tuple[dict[str, Any], str | None]:
    """Return the request's arguments and a body error code (None when it decoded)."""
    params: dict[str, Any] = dict(request.query)
    if request.method != "POST" or not request.can_read_body:
        return params, None
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            return params, "invalid_json"
        if not isinstance(body, dict):
            return params, "json_not_object"
        params.update(body)
    else:
        form = await request.post()
        params.update({key: value for key, value in form.items() if isinstance(value, str)})
    return params, _decode_blocks(params)


def _bearer(request: web.Request, params: dict[str, Any]) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    token = params.get("token")
    return token if isinstance(token, str) and token else None


class FakeSlack:
    """A Slack-compatible HTTP server for tests: the real slack_sdk client talks to it.

    ``with FakeSlack() as slack:`` starts it on a free port of 127.0.0.1 (in a thread, so it
    serves sync and async tests alike); pass ``slack.base_url`` to
    ``AsyncWebClient(base_url=...)`` or :class:`~slack_batcher.delivery.SlackSender`, and
    ``slack.webhook_url()`` to a webhook client. It answers ``chat.postMessage`` and
    ``auth.test`` like Slack: JSON or form bodies, bearer token, unique increasing ``ts``,
    threads, per-channel rate limits (429 with ``Retry-After``), Block Kit validation
    (``invalid_blocks`` with messages) and ``message_truncated`` warnings. :meth:`fail`
    injects failures; :attr:`posts` and :attr:`requests` show what Slack saw.

    ``token`` is the accepted bot token (None accepts any); ``clock`` times rate limits and
    ``ts`` (a ``ManualClock`` makes them deterministic); ``posts_per_second`` per channel
    (None: no limit) with ``burst`` posts at once; ``channels``, when given, are the only
    channels that exist (others answer ``channel_not_found``).
    """

    def __init__(
        self,
        *,
        token: str | None = "xoxb-fake-token",
        clock: Clock | None = None,
        posts_per_second: float | None = 1.0,
        burst: int = 3,
        channels: Iterable[str] | None = None,
    ) -> None:
        self._workspace = Workspace(
            token=token,
            clock=clock or SystemClock(),
            posts_per_second=posts_per_second,
            burst=burst,
            channels=channels,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._inflight: set[asyncio.Task[Any]] = set()
        self._port = 0

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeSlack:
        """Start serving (a no-op when already started); return self."""
        if self._thread is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(
            target=loop.run_forever, name=f"FakeSlack:{self._port}", daemon=True
        )
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(sock), loop).result(timeout=10)
        return self

    async def _serve(self, sock: socket.socket) -> None:
        app = web.Application(middlewares=[self._track])
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/services/{path:.*}", self._webhook)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    @web.middleware
    async def _track(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Remember in-flight requests, so that stop() can cut slow ones short."""
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            return await handler(request)
        finally:
            if task is not None:
                self._inflight.discard(task)

    async def _shutdown(self) -> None:
        pending = list(self._inflight)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()

    def stop(self) -> None:
        """Stop serving and release the port and thread (pending slow answers are cut)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        self._loop = self._thread = self._runner = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> FakeSlack:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    # -- addresses and credentials ---------------------------------------------------------

    @property
    def url(self) -> str:
        """Return the server's root URL, e.g. ``http://127.0.0.1:54321/``."""
        if self._thread is None:
            raise RuntimeError("FakeSlack is not started: use `with FakeSlack() as slack:`")
        return f"http://127.0.0.1:{self._port}/"

    @property
    def base_url(self) -> str:
        """Return the Web API base URL for ``AsyncWebClient(base_url=...)``."""
        return self.url + "api/"

    def webhook_url(self, channel: str = "C0WEBHOOK") -> str:
        """Create an incoming webhook that posts to *channel*; return its URL."""
        path = f"T0FAKE0001/B{secrets.token_hex(5).upper()}/{secrets.token_urlsafe(18)}"
        with self._workspace.lock:
            self._workspace.webhooks[path] = channel
        return f"{self.url}services/{path}"

    @property
    def token(self) -> str | None:
        """The accepted token (None: any token); set it to simulate a rotated credential."""
        return self._workspace.token

    @token.setter
    def token(self, value: str | None) -> None:
        with self._workspace.lock:
            self._workspace.token = value
            if value is not None:
                self._workspace.revoked.discard(value)

    def revoke_token(self, token: str | None = None) -> None:
        """Revoke *token* (default: the accepted one): it now gets ``token_revoked``."""
        with self._workspace.lock:
            revoked = token if token is not None else self._workspace.token
            if revoked is not None:
                self._workspace.revoked.add(revoked)

    # -- faults ----------------------------------------------------------------------------

    def fail(
        self,
        error: str | None = None,
        *,
        status: int | None = None,
        delay: float = 0.0,
        drop: bool = False,
        retry_after: int | None = None,
        channel: str | None = None,
        method: str | None = None,
        times: int | None = None,
    ) -> Fault:
        """Inject a failure into matching requests; return it (``hits``, ``cancel()``).

        - ``error="channel_not_found"``: answer that Slack error code (``"ratelimited"``
          answers 429 with ``Retry-After: retry_after`` (default 1));
        - ``status=503``: answer that HTTP status (an HTML page, or ``error`` as JSON);
        - ``delay=2.0``: answer that many real seconds late (for client timeouts); alone,
          the request is then carried out as usual, like a slow Slack that still posts;
        - ``drop=True``: close the connection without answering.

        It matches requests to ``channel`` (None: all) and ``method`` (None: every posting
        endpoint, ``chat.postMessage`` and webhooks; or e.g. ``"auth.test"``), for the next
        ``times`` of them (None: until cancelled or :meth:`clear_faults`). Faults run before
        auth, pacing and validation, as a failing network or Slack outage would.
        """
        fault = Fault(
            error=error,
            status=status,
            delay=delay,
            drop=drop,
            retry_after=retry_after,
            channel=channel,
            method=method,
            times=times,
        )
        with self._workspace.lock:
            self._workspace.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Cancel every injected fault."""
        with self._workspace.lock:
            for fault in self._workspace.faults:
                fault.cancel()
            self._workspace.faults.clear()

    # -- what Slack saw --------------------------------------------------------------------

    @property
    def posts(self) -> list[Post]:
        """Return every accepted post, in the order Slack stored them."""
        with self._workspace.lock:
            return list(self._workspace.posts)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Return every request received (accepted, refused or faulted), in order."""
        with self._workspace.lock:
            return list(self._workspace.requests)

    def posts_in(self, channel: str) -> list[Post]:
        """Return the accepted posts of *channel*, in order."""
        return [post for post in self.posts if post.channel == channel]

    def replies(self, channel: str, thread_ts: str) -> list[Post]:
        """Return the replies in the thread under *thread_ts* in *channel*, in order."""
        return [p for p in self.posts if p.channel == channel and p.thread_ts == thread_ts]

    def reset(self) -> None:
        """Forget posts, requests, faults and rate-limit state (token and webhooks stay)."""
        self._workspace.reset()

    def wait_for_posts(
        self, count: int, *, channel: str | None = None, timeout: float = 5.0
    ) -> list[Post]:
        """Block until at least *count* posts (in *channel*) exist; return them.

        Raises ``TimeoutError`` after *timeout* seconds. From async tests, use
        :meth:`wait_for_posts_async`, which does not block the event loop.
        """
        deadline = time.monotonic() + timeout
        with self._workspace.lock:
            while True:
                found = self._matching(channel)
                remaining = deadline - time.monotonic()
                if len(found) >= count or remaining <= 0:
                    break
                self._workspace.lock.wait(remaining)
        if len(found) < count:
            raise TimeoutError(f"{len(found)} of {count} posts after {timeout}s")
        return found

    async def wait_for_posts_async(
        self, count: int, *, channel: str | None = None, timeout: float = 5.0
    ) -> list[Post]:
        """Wait (polling, without blocking the loop) for *count* posts; return them."""
        deadline = time.monotonic() + timeout
        while True:
            with self._workspace.lock:
                found = self._matching(channel)
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{len(found)} of {count} posts after {timeout}s")
            await asyncio.sleep(0.01)

    def _matching(self, channel: str | None) -> list[Post]:
        posts = self._workspace.posts
        return [p for p in posts if channel is None or p.channel == channel]

    # -- HTTP handlers (run in the server thread) ------------------------------------------

    def _log(
        self,
        request: web.Request,
        method: str,
        params: dict[str, Any],
        token: str | None,
        status: int,
        error: str | None,
        fault: bool = False,
    ) -> None:
        channel = params.get("channel")
        self._workspace.record(
            RecordedRequest(
                method=method,
                channel=channel if isinstance(channel, str) else None,
                status=status,
                error=error,
                params=params,
                token=token,
                content_type=request.content_type,
                received_at=self._workspace.clock.now(),
                fault=fault,
            )
        )

    async def _apply_fault(
        self,
        fault: Fault,
        request: web.Request,
        render: Callable[[Answer], web.Response],
        log: Callable[[int, str | None], None],
    ) -> web.StreamResponse | None:
        """Carry out *fault*; return the answer, or None to go on as usual after a delay."""
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.drop:
            log(0, fault.error or "connection_dropped")
            if request.transport is not None:
                request.transport.close()
            raise asyncio.CancelledError  # aiohttp drops the request quietly
        if fault.status is not None and fault.status >= 500 and fault.error is None:
            log(fault.status, f"http_{fault.status}")
            page = _SERVER_ERROR_PAGE.format(status=fault.status)
            return web.Response(status=fault.status, text=page, content_type="text/html")
        if fault.error is None and fault.status is None:
            return None
        error = fault.error or ("ratelimited" if fault.status == 429 else "internal_error")
        status = fault.status or (429 if error == "ratelimited" else 200)
        headers = {"Retry-After": str(fault.retry_after or 1)} if status == 429 else {}
        log(status, error)
        return render(Answer(status, {"ok": False, "error": error}, headers))

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params, body_error = await _read_params(request)
        token = _bearer(request, params)
        fault = self._workspace.take_fault(method, params.get("channel"))
        if fault is not None:
            faulted = await self._apply_fault(
                fault,
                request,
                _json_answer,
                lambda status, error: self._log(
                    request, method, params, token, status, error, True
                ),
            )
            if faulted is not None:
                return faulted
        answer = self._api_answer(method, params, token, body_error)
        self._log(request, method, params, token, answer.status, answer.error)
        return _json_answer(answer)

    def _api_answer(
        self, method: str, params: dict[str, Any], token: str | None, body_error: str | None
    ) -> Answer:
        if body_error is not None:
            return Answer(200, {"ok": False, "error": body_error}, {})
        if method not in ("chat.postMessage", "auth.test", "api.test"):
            return Answer(200, {"ok": False, "error": "unknown_method"}, {})
        if method == "api.test":
            return Answer(200, {"ok": True, "args": params}, {})
        auth_error = self._workspace.auth_error(token)
        if auth_error is not None:
            return Answer(200, {"ok": False, "error": auth_error}, {})
        if method == "auth.test":
            return self._workspace.auth_test()
        channel = params.get("channel")
        return self._workspace.post(params, via="api", channel=channel)

    async def _webhook(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        with self._workspace.lock:
            channel = self._workspace.webhooks.get(path)
        params, body_error = await _read_params(request)
        if isinstance(params.get("payload"), str):  # the legacy form encoding
            try:
                params = dict(json.loads(params.pop("payload")))
            except ValueError:
                body_error = "invalid_payload"
        record = {**params, "channel": channel}
        fault = self._workspace.take_fault("webhook", channel)
        if fault is not None:
            faulted = await self._apply_fault(
                fault,
                request,
                _webhook_answer,
                lambda status, error: self._log(
                    request, "webhook", record, None, status, error, True
                ),
            )
            if faulted is not None:
                return faulted
        if channel is None:
            answer = Answer(404, {"ok": False, "error": "no_service"}, {})
        elif body_error is not None:
            answer = Answer(400, {"ok": False, "error": "invalid_payload"}, {})
        else:
            answer = self._workspace.post(params, via="webhook", channel=channel)
        self._log(request, "webhook", record, None, answer.status, answer.error)
        return _webhook_answer(answer)


def _json_answer(answer: Answer) -> web.Response:
    return web.json_response(answer.body, status=answer.status, headers=answer.headers)


def _webhook_answer(answer: Answer) -> web.Response:
    """Render a Web API answer the way incoming webhooks answer: a status and a word."""
    error = answer.error
    if error is None:
        return web.Response(status=200, text="ok", content_type="text/html")
    status = WEBHOOK_STATUS.get(error, 400) if answer.status == 200 else answer.status
    if error == "ratelimited":
        error = "rate_limited"
    return web.Response(status=status, text=error, content_type="text/html", headers=answer.headers)
