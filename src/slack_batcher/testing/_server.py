"""FakeSlack: a Slack-compatible HTTP server on 127.0.0.1, in a background thread."""

from __future__ import annotations

import asyncio
import secrets
import socket
import threading
import time
from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..model.clock import Clock, SystemClock
from ._clicks import block_actions_request
from ._http import Handlers
from ._records import Fault, Post, RecordedRequest
from ._workspace import Workspace

if TYPE_CHECKING:
    import httpx

__all__ = ["FakeSlack"]


class FakeSlack:
    """A Slack-compatible HTTP server for tests: the real slack_sdk client talks to it.

    ``with FakeSlack() as slack:`` starts it on a free port of 127.0.0.1 (in a thread, so it
    serves sync and async tests alike); pass ``slack.base_url`` to
    ``AsyncWebClient(base_url=...)`` or :class:`~slack_batcher.delivery.SlackSender`, and
    ``slack.webhook_url()`` to a webhook client. It answers ``chat.postMessage`` and
    ``auth.test`` like Slack: JSON or form bodies, bearer token, unique increasing ``ts``,
    threads, ``chat.update`` and ``chat.delete`` (``message_not_found``,
    ``cant_update_message`` for webhook messages), per-channel rate limits (429 with
    ``Retry-After``), Block Kit validation
    (``invalid_blocks`` with messages) and ``message_truncated`` warnings. :meth:`fail`
    injects failures; :attr:`posts` (each message's current version, with its ``history``)
    and :attr:`requests` show what Slack saw.

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
        self._handlers = Handlers(self._workspace)
        self._port = 0
        self._clicks = 0

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
        self._runner = web.AppRunner(self._handlers.app(), access_log=None, shutdown_timeout=0.2)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    async def _shutdown(self) -> None:
        await self._handlers.cancel_inflight()
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
    def deleted(self) -> list[Post]:
        """Return the deleted messages, as they were when deleted, in order of deletion."""
        with self._workspace.lock:
            return list(self._workspace.deleted)

    def message(self, channel: str, ts: str) -> Post | None:
        """Return the current version of the message *ts* in *channel*, or None."""
        with self._workspace.lock:
            for post in self._workspace.posts:
                if post.ts == ts and post.channel == channel:
                    return post
        return None

    def delete_message(self, channel: str, ts: str) -> bool:
        """Delete a message as a person in the channel would; False when there is none.

        Later ``chat.update`` calls on it answer ``message_not_found``.
        """
        answer = self._workspace.delete({"channel": channel, "ts": ts, "_by_user": True})
        return answer.error is None

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

    # -- clicks on controls ----------------------------------------------------------------

    @property
    def responses(self) -> list[dict[str, Any]]:
        """Return what apps sent to the ``response_url`` of clicks, oldest first."""
        return list(self._handlers.responses)

    def click_request(
        self, post: Post, action_id: str, *, signing_secret: str, **options: Any
    ) -> tuple[bytes, dict[str, str]]:
        """Return (body, headers) of the request Slack sends when *action_id* is clicked.

        Signed with *signing_secret* at this FakeSlack's clock (``timestamp=`` overrides);
        its ``response_url`` is served here (see :attr:`responses`). *options*: ``user``,
        ``user_name``, ``channel`` (where the click seems to come from), ``option`` (an
        overflow option's value), ``value`` (a forged value).
        """
        stamp = int(options.pop("timestamp", self._workspace.clock.now().timestamp()))
        self._clicks += 1
        return block_actions_request(
            post,
            action_id,
            signing_secret=signing_secret,
            response_url=f"{self.url}actions/{self._clicks}",
            timestamp=stamp,
            **options,
        )

    def click(
        self, url: str, post: Post, action_id: str, *, signing_secret: str, **options: Any
    ) -> httpx.Response:
        """Click *action_id* of *post*: POST Slack's signed request to the app's *url*.

        Needs httpx (``pip install 'slack-batcher[server]'``).
        """
        import httpx

        body, headers = self.click_request(
            post, action_id, signing_secret=signing_secret, **options
        )
        return httpx.post(url, content=body, headers=headers, timeout=10)

    async def click_async(
        self,
        client: httpx.AsyncClient,
        url: str,
        post: Post,
        action_id: str,
        *,
        signing_secret: str,
        **options: Any,
    ) -> httpx.Response:
        """Like :meth:`click`, through *client* (an app served in-process, say)."""
        body, headers = self.click_request(
            post, action_id, signing_secret=signing_secret, **options
        )
        return await client.post(url, content=body, headers=headers)

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
