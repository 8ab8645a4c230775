"""JsonlSender: a dry-run sink writing one chat.postMessage payload per line."""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from ..formatting.message import SlackMessage
from ..model.clock import Clock, SystemClock
from .base import PostResult

__all__ = ["FakeTimestamps", "JsonlSender"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


class FakeTimestamps:
    """Slack-style ``ts`` values ("1700000000.000100") from a clock: unique and increasing."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> str:
        """Return a new ts, later than every one returned before."""
        with self._lock:
            micros = max((self._clock.now() - _EPOCH) // _MICRO, self._last + 1)
            self._last = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


class JsonlSender:
    """Writes each post as one JSON line instead of sending it: a dry run you can replay.

    A line is the ``chat.postMessage`` payload (``channel``, ``text``, ``blocks`` and
    ``thread_ts`` for replies) plus an invented ``ts`` and ``posted_at`` (ISO 8601, UTC).
    Since it invents ``ts``, replies thread as they would in Slack (``supports_threads``).
    An edit (:meth:`update`) is a line with ``"method": "chat.update"`` and the edited ``ts``.
    *target* is a path (appended to; parent directories are created; closed by
    :meth:`close`) or an open text stream (left open).
    """

    supports_threads = True
    supports_updates = True

    def __init__(
        self, target: str | os.PathLike[str] | IO[str], *, clock: Clock | None = None
    ) -> None:
        self._path: Path | None = None
        self._stream: IO[str] | None = None
        if isinstance(target, str | os.PathLike):
            self._path = Path(target)
        else:
            self._stream = target
        self._owns_stream = self._path is not None
        self._clock = clock or SystemClock()
        self._timestamps = FakeTimestamps(self._clock)
        self._closed = False

    def __repr__(self) -> str:
        return f"JsonlSender({str(self._path) if self._path else '<stream>'!r})"

    def _output(self) -> IO[str]:
        if self._closed:
            raise RuntimeError("JsonlSender is closed")
        if self._stream is None:
            assert self._path is not None
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._stream = self._path.open("a", encoding="utf-8")
        return self._stream

    async def post(
        self, message: SlackMessage, *, channel: str, thread_ts: str | None = None
    ) -> PostResult:
        """Append this page of *message* as one line; return the invented ts."""
        ts = self._timestamps.next()
        thread = thread_ts if thread_ts is not None else message.thread_ts
        line: dict[str, Any] = {"channel": channel, "ts": ts}
        if thread is not None:
            line["thread_ts"] = thread
            if message.metadata.get("reply_broadcast"):  # as SlackSender sends it
                line["reply_broadcast"] = True
        line["text"] = message.text
        line["blocks"] = message.blocks
        line["posted_at"] = self._clock.now().astimezone(UTC).isoformat()
        stream = self._output()
        stream.write(json.dumps(line, ensure_ascii=False) + "\n")
        stream.flush()
        return PostResult(ts=ts, channel=channel)

    async def update(self, message: SlackMessage, *, channel: str, ts: str) -> PostResult:
        """Append an edit of the message *ts* as one line (``"method": "chat.update"``)."""
        line: dict[str, Any] = {"method": "chat.update", "channel": channel, "ts": ts}
        line["text"] = message.text
        line["blocks"] = message.blocks
        line["posted_at"] = self._clock.now().astimezone(UTC).isoformat()
        stream = self._output()
        stream.write(json.dumps(line, ensure_ascii=False) + "\n")
        stream.flush()
        return PostResult(ts=ts, channel=channel)

    async def close(self) -> None:
        """Close the file this sender opened (a stream handed in stays open)."""
        self._closed = True
        if self._owns_stream and self._stream is not None:
            self._stream.close()
        self._stream = None if self._owns_stream else self._stream
