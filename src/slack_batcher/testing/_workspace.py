"""FakeSlack's state and rules, without HTTP: auth, pacing, threads, validation, records.

Every public method is thread-safe: the HTTP server runs in its own thread while tests read
the records from theirs.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..model.clock import Clock
from ._blocks import MAX_MESSAGE_TEXT, TRUNCATED_TEXT, validate_blocks
from ._records import Fault, Post, PostVersion, RecordedRequest

__all__ = ["Answer", "Workspace"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
TEAM_ID = "T0FAKE0001"
BOT_USER_ID = "U0FAKEBOT1"
BOT_ID = "B0FAKEBOT1"


@dataclass(frozen=True, slots=True)
class Answer:
    """A Web API answer: HTTP status, extra headers and the JSON body."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def error(self) -> str | None:
        """Return the Slack error code, or None for a success."""
        return None if self.body.get("ok") else str(self.body.get("error", "unknown"))


def _fail(error: str, **extra: Any) -> Answer:
    return Answer(200, {"ok": False, "error": error, **extra}, {})


def _ratelimited(retry_after: int) -> Answer:
    return Answer(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)})


class _Bucket:
    """A token bucket: *rate* posts per second sustained, *burst* at once."""

    def __init__(self, burst: int, now: datetime) -> None:
        self.tokens = float(burst)
        self.updated = now

    def take(self, now: datetime, rate: float, burst: int) -> int | None:
        """Take one token; return None, or the whole seconds to wait when there is none."""
        elapsed = max(0.0, (now - self.updated).total_seconds())
        self.tokens = min(float(burst), self.tokens + elapsed * rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return None
        return max(1, math.ceil((1.0 - self.tokens) / rate))


class Workspace:
    """One fake Slack workspace: its token, channels, messages and injected faults."""

    def __init__(
        self,
        *,
        token: str | None,
        clock: Clock,
        posts_per_second: float | None,
        burst: int,
        channels: Iterable[str] | None,
    ) -> None:
        self.token = token
        self.revoked: set[str] = set()
        self.clock = clock
        self.posts_per_second = posts_per_second
        self.burst = max(1, burst)
        self.channels = set(channels) if channels is not None else None
        self.lock = threading.Condition()
        self.posts: list[Post] = []
        #: Messages deleted with chat.delete (or :meth:`delete`), as they were last.
        self.deleted: list[Post] = []
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self.webhooks: dict[str, str] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._last_micros = 0
        self._threads: dict[tuple[str, str], str | None] = {}

    # -- records ---------------------------------------------------------------------------

    def record(self, request: RecordedRequest) -> None:
        """Remember one request."""
        with self.lock:
            self.requests.append(request)
            self.lock.notify_all()

    def reset(self) -> None:
        """Forget posts, requests, faults and rate-limit state (tokens and webhooks stay)."""
        with self.lock:
            self.posts.clear()
            self.deleted.clear()
            self.requests.clear()
            self.faults.clear()
            self._buckets.clear()
            self._threads.clear()

    def take_fault(self, method: str, channel: str | None) -> Fault | None:
        """Return the first active fault for this request, counting the use."""
        with self.lock:
            candidates = [fault for fault in self.faults if fault.matches(method, channel)]
        for fault in candidates:
            if fault.claim():
                return fault
        return None

    # -- rules -----------------------------------------------------------------------------

    def auth_error(self, token: str | None) -> str | None:
        """Return Slack's error code for *token*, or None when it is accepted."""
        if not token:
            return "not_authed"
        with self.lock:
            if token in self.revoked:
                return "token_revoked"
            if self.token is not None and token != self.token:
                return "invalid_auth"
        return None

    def _pace(self, key: str, now: datetime) -> int | None:
        if self.posts_per_second is None:
            return None
        bucket = self._buckets.setdefault(key, _Bucket(self.burst, now))
        return bucket.take(now, self.posts_per_second, self.burst)

    def _next_ts(self, now: datetime) -> str:
        micros = max((now - _EPOCH) // _MICRO, self._last_micros + 1)
        self._last_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _content_error(self, params: dict[str, Any]) -> Answer | None:
        text = params.get("text")
        blocks = params.get("blocks")
        if not text and not blocks and not params.get("attachments"):
            return _fail("no_text")
        if text is not None and not isinstance(text, str):
            return _fail("invalid_arguments")
        if isinstance(text, str) and len(text) > MAX_MESSAGE_TEXT:
            return _fail("msg_too_long")
        if blocks is not None:
            problems = validate_blocks(blocks)
            if problems:
                return _fail(
                    "invalid_blocks",
                    errors=problems,
                    response_metadata={"messages": [f"[ERROR] {p}" for p in problems]},
                )
        return None

    def post(self, params: dict[str, Any], *, via: str, channel: str | None) -> Answer:
        """Apply Slack's rules to a post that passed auth; store and answer it."""
        if not channel or not isinstance(channel, str):
            return _fail("channel_not_found")
        if self.channels is not None and channel not in self.channels:
            return _fail("channel_not_found")
        with self.lock:
            now = self.clock.now()
            wait = self._pace(channel, now)
            if wait is not None:
                return _ratelimited(wait)
            refused = self._content_error(params)
            if refused is not None:
                return refused
            thread_ts = params.get("thread_ts") or None
            if thread_ts is not None:
                key = (channel, str(thread_ts))
                if key not in self._threads:
                    return _fail("thread_not_found")
                thread_ts = self._threads[key] or str(thread_ts)
            return self._store(params, via=via, channel=channel, thread_ts=thread_ts, now=now)

    def _store(
        self,
        params: dict[str, Any],
        *,
        via: str,
        channel: str,
        thread_ts: str | None,
        now: datetime,
    ) -> Answer:
        text = params.get("text") or ""
        blocks = list(params.get("blocks") or [])
        warnings = ("message_truncated",) if len(text) > TRUNCATED_TEXT else ()
        ts = self._next_ts(now)
        self._threads[(channel, ts)] = thread_ts
        others = {
            key: value
            for key, value in params.items()
            if key not in ("channel", "text", "blocks", "thread_ts", "token")
        }
        post = Post(channel, ts, text, blocks, thread_ts, via, now, warnings, others)
        self.posts.append(post)
        self.lock.notify_all()
        message: dict[str, Any] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "team": TEAM_ID,
            "text": text,
            "ts": ts,
        }
        if blocks:
            message["blocks"] = blocks
        if thread_ts is not None:
            message["thread_ts"] = thread_ts
        body: dict[str, Any] = {"ok": True, "channel": channel, "ts": ts, "message": message}
        if warnings:
            body["warning"] = ",".join(warnings)
            body["response_metadata"] = {"warnings": list(warnings)}
        return Answer(200, body, {})

    # -- edits -------------------------------------------------------------------------------

    def _find(self, channel: str, ts: object) -> int | None:
        if not isinstance(ts, str):
            return None
        for index in range(len(self.posts) - 1, -1, -1):
            post = self.posts[index]
            if post.ts == ts and post.channel == channel:
                return index
        return None

    def _target(self, params: dict[str, Any], *, verb: str) -> tuple[int, Post] | Answer:
        """Return the (index, post) chat.update/chat.delete names, or Slack's refusal."""
        channel = params.get("channel")
        if not channel or not isinstance(channel, str):
            return _fail("channel_not_found")
        if self.channels is not None and channel not in self.channels:
            return _fail("channel_not_found")
        ts = params.get("ts")
        if not ts:
            return _fail("invalid_arguments")
        index = self._find(channel, ts)
        if index is None:
            return _fail("message_not_found")
        post = self.posts[index]
        if post.via != "api" and not params.get("_by_user"):
            # Incoming-webhook messages cannot be edited or deleted through the Web API.
            return _fail(f"cant_{verb}_message")
        return index, post

    def update(self, params: dict[str, Any]) -> Answer:
        """Apply ``chat.update``: replace the text (and the blocks, when given) of a message.

        Like Slack: omitted ``blocks`` keep the previous blocks, ``[]`` removes them; the
        message keeps its ``ts``, thread and place; the earlier version goes to its history.
        """
        with self.lock:
            found = self._target(params, verb="update")
            if isinstance(found, Answer):
                return found
            index, post = found
            text = params.get("text")
            blocks = params.get("blocks")
            new_blocks = post.blocks if blocks is None else list(blocks)
            check = {"text": text, "blocks": new_blocks or None}
            refused = self._content_error(check)
            if refused is not None:
                return refused
            now = self.clock.now()
            version = PostVersion(post.text, post.blocks, post.edited_at or post.received_at)
            updated = dataclasses.replace(
                post,
                text=text if isinstance(text, str) else "",
                blocks=new_blocks,
                history=(*post.history, version),
                edited_at=now,
            )
            self.posts[index] = updated
            self.lock.notify_all()
            message: dict[str, Any] = {
                "type": "message",
                "user": BOT_USER_ID,
                "bot_id": BOT_ID,
                "team": TEAM_ID,
                "text": updated.text,
                "edited": {"user": BOT_USER_ID, "ts": self._next_ts(now)},
            }
            if new_blocks:
                message["blocks"] = new_blocks
            body = {
                "ok": True,
                "channel": post.channel,
                "ts": post.ts,
                "text": updated.text,
                "message": message,
            }
            return Answer(200, body, {})

    def delete(self, params: dict[str, Any]) -> Answer:
        """Apply ``chat.delete``: remove a message (a thread with replies stays open)."""
        with self.lock:
            found = self._target(params, verb="delete")
            if isinstance(found, Answer):
                return found
            index, post = found
            del self.posts[index]
            self.deleted.append(post)
            key = (post.channel, post.ts)
            has_replies = any(
                p.thread_ts == post.ts and p.channel == post.channel for p in self.posts
            )
            if not has_replies:
                self._threads.pop(key, None)
            self.lock.notify_all()
            return Answer(200, {"ok": True, "channel": post.channel, "ts": post.ts}, {})

    def auth_test(self) -> Answer:
        """Answer ``auth.test`` for an accepted token."""
        return Answer(
            200,
            {
                "ok": True,
                "url": "https://fake-slack.example/",
                "team": "FakeSlack",
                "user": "slack-batcher",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
            },
            {},
        )
