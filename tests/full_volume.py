"""A real full disk for `slack-batcher serve`: a small tmpfs volume, the service, FakeSlack.

:class:`SmallVolume` mounts a tmpfs of a given size (root only: the tests and
``python -m benchmarks disk`` run as root) and can grow it, as an operator frees space.
:func:`run_full_disk` fills the service's SQLite store on such a volume until it answers
503, lets the outbox drain, restarts it (while still full, or after growing the volume) and
returns what a user would see: events accepted and posted, events posted twice, and the
possible duplicates the service reported.
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from slack_batcher.testing import FakeSlack
from tests.redis_server import free_port

__all__ = ["Figures", "ServeProcess", "SmallVolume", "item_counts", "run_full_disk"]

MIB = 1024 * 1024
TOKEN = "xoxb-full-disk"
EVENT = re.compile(r"disk-event-(\d+)\b")


class SmallVolume:
    """A tmpfs of *size* bytes mounted on a fresh directory; unmounted on exit."""

    def __init__(self, size: int) -> None:
        self._base = Path(tempfile.mkdtemp(prefix="slack-batcher-volume-"))
        self.path = self._base / "volume"
        self.path.mkdir()
        self._mount("mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(self.path))

    @staticmethod
    def _mount(*args: str) -> None:
        result = subprocess.run(args, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args)} failed ({result.stderr.strip()}): the full-disk tests mount "
                "a small tmpfs and need root (CAP_SYS_ADMIN)"
            )

    def grow(self, size: int) -> None:
        """Resize the volume to *size* bytes (what freeing space looks like to the store)."""
        self._mount("mount", "-o", f"remount,size={size}", str(self.path))

    def close(self) -> None:
        """Unmount the volume and remove its directory."""
        subprocess.run(["umount", "-l", str(self.path)], check=False)
        self.path.rmdir()
        self._base.rmdir()

    def __enter__(self) -> SmallVolume:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


CONFIG = """
[batching]
max_batch_size = 5
max_batch_age_minutes = 0.02
live_digests = {digests}
[store]
url = "sqlite:///{db}"
[sender]
kind = "slack"
slack_bot_token = "{token}"
slack_api_url = "{slack}"
[delivery]
channel_posts_per_second = 1000.0
channel_burst = 1000
workspace_posts_per_minute = 600000.0
workspace_burst = 10000
thread_related = false
shutdown_timeout_seconds = 20.0
[server]
port = {port}
max_body_bytes = 200000
[logging]
level = "WARNING"
"""


class ServeProcess:
    """One ``slack-batcher serve`` process; its stderr goes to *log*."""

    def __init__(self, config: Path, log: Path) -> None:
        self.port = int(re.findall(r"port = (\d+)", config.read_text())[0])
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log.open("a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "slack_batcher.cli", "serve", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )

    def get(self, path: str) -> httpx.Response:
        """GET *path* of the service."""
        return httpx.get(self.url + path, timeout=10)

    def post(self, event: dict[str, Any]) -> httpx.Response:
        """POST one event."""
        return httpx.post(self.url + "/v1/messages", json=event, timeout=10)

    def wait_ready(self, seconds: float) -> bool:
        """Wait up to *seconds* for ``/readyz`` 200; False if it never came."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                if self.get("/readyz").status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        return False

    def delivery(self) -> dict[str, Any]:
        """The ``delivery`` figures of ``/v1/stats``."""
        stats: dict[str, Any] = self.get("/v1/stats").json()
        return dict(stats.get("delivery", stats))

    def wait_drained(self, seconds: float) -> bool:
        """Wait up to *seconds* until nothing is pending or in the outbox."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                stats = self.get("/v1/stats").json()
            except httpx.TransportError:  # not listening yet
                time.sleep(0.1)
                continue
            if stats.get("outbox_pending", 1) == 0 and stats.get("batches_pending", 1) == 0:
                return True
            time.sleep(0.2)
        return False

    def stop(self) -> int:
        """SIGTERM; return the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()
        return self.process.returncode


def event(number: int, body: int) -> dict[str, Any]:
    """An event of about *body* bytes; five per channel make a batch."""
    return {
        "id": f"disk-event-{number}",
        "content_type": "pr_update",
        "author": "alice",
        "channel": f"#c{number % 10}",
        "data": {
            "repository": "acme/api",
            "title": f"disk-event-{number} changed",
            "body": "x" * body,
        },
    }


def item_counts(slack: FakeSlack) -> Counter[int]:
    """How many times each event was posted as an item (a digest's edited parent is not:
    its first version is re-posted in its thread)."""
    counts: Counter[int] = Counter()
    for post in slack.posts:
        if post.history:
            continue
        found = {int(n) for n in EVENT.findall(json.dumps(post.blocks))}
        counts.update(found)
    return counts


@dataclass
class Figures:
    """What one full-disk run showed."""

    accepted: int = 0
    refused_status: int = 0
    refused_detail: str = ""
    ready_when_full: bool = True
    live_when_full: bool = False
    metrics_when_full: str = field(default="", repr=False)
    drained: bool = False
    ready_after_drain: bool = False
    accepted_after_drain: int = 0
    ready_after_restart: bool = False
    drained_after_restart: bool = False
    accepted_after_restart: int = 0
    posted_once_or_more: int = 0
    posted_twice: int = 0
    lost: int = 0
    possible_duplicates: int = 0
    exit_codes: list[int] = field(default_factory=list)

    def ok(self) -> bool:
        """True when every figure the issue asks for is reached."""
        return (
            self.drained
            and self.ready_after_drain
            and self.accepted_after_drain > 0
            and self.ready_after_restart
            and self.drained_after_restart
            and self.lost == 0
            and self.posted_twice <= self.possible_duplicates
        )


def fill(serve: ServeProcess, body: int, limit: int, accepted: set[int], figures: Figures) -> int:
    """Post events 4 at a time until one is refused; return the last number tried."""
    with ThreadPoolExecutor(4) as pool:
        for first in range(0, limit, 4):
            numbers = range(first, min(first + 4, limit))
            answers = list(pool.map(lambda n: serve.post(event(n, body)), numbers))
            accepted.update(
                n for n, answer in zip(numbers, answers, strict=True) if answer.status_code == 202
            )
            refused = [answer for answer in answers if answer.status_code != 202]
            if refused:
                figures.refused_status = refused[0].status_code
                figures.refused_detail = str(refused[0].json().get("detail"))
                figures.ready_when_full = serve.get("/readyz").status_code == 200
                figures.live_when_full = serve.get("/healthz").status_code == 200
                figures.metrics_when_full = serve.get("/metrics").text
                return numbers[-1]
    return limit


def post_more(serve: ServeProcess, first: int, body: int, accepted: set[int]) -> int:
    """Post 20 more events one by one; return how many were accepted."""
    count = 0
    for number in range(first, first + 20):
        if serve.post(event(number, body)).status_code == 202:
            accepted.add(number)
            count += 1
    return count


def take_every_byte(volume: Path) -> Path:
    """Fill what is left of *volume* with a file (another program filling the disk)."""
    ballast = volume / "ballast"
    # Unbuffered: a buffered file would try the last failed write again at close and raise.
    with ballast.open("wb", buffering=0) as file, contextlib.suppress(OSError):
        while True:
            file.write(b"\0" * 65536)
    return ballast


def run_full_disk(
    directory: Path,
    *,
    digests: bool,
    free_before_restart: bool,
    taken: bool = False,
    volume_mib: int = 16,
    body: int = 50_000,
    limit: int = 2000,
    posts_per_second: float | None = None,
) -> Figures:
    """Fill a store on a *volume_mib* volume until 503, drain, restart; return the figures.

    *taken*: the service is stopped before the drain (Slack still down), another program
    takes every byte left, and the restart must deliver the outbox on that full disk
    (``drained``); then the other program's file goes and the service must become ready.
    """
    figures = Figures()
    accepted: set[int] = set()
    with (
        SmallVolume(volume_mib * MIB) as volume,
        FakeSlack(token=TOKEN, posts_per_second=posts_per_second) as slack,
    ):
        config = directory / "serve.toml"
        config.write_text(
            CONFIG.format(
                digests=str(digests).lower(),
                db=volume.path / "batches.db",
                token=TOKEN,
                slack=slack.base_url,
                port=free_port(),
            )
        )
        log = directory / "serve.log"
        first = ServeProcess(config, log)
        try:
            assert first.wait_ready(30), log.read_text()
            outage = slack.fail("ratelimited", retry_after=1)  # the outbox grows meanwhile
            number = fill(first, body, limit, accepted, figures)
            if not taken:
                outage.cancel()
                figures.drained = first.wait_drained(60)
                figures.ready_after_drain = first.wait_ready(15)
                figures.accepted_after_drain = post_more(first, number + 1, body, accepted)
            figures.possible_duplicates += int(first.delivery().get("possible_duplicates", 0))
        finally:
            figures.exit_codes.append(first.stop())
        outage.cancel()
        ballast = take_every_byte(volume.path) if taken else None
        if free_before_restart:
            volume.grow((volume_mib + 16) * MIB)
        second = ServeProcess(config, log)
        try:
            if ballast is not None:
                figures.drained = second.wait_drained(90)  # on the full disk
                ballast.unlink()
            figures.ready_after_restart = second.wait_ready(30)
            if second.process.poll() is None:
                figures.drained_after_restart = second.wait_drained(60)
                figures.accepted_after_restart = post_more(second, number + 21, body, accepted)
                second.wait_drained(30)
                figures.possible_duplicates += int(second.delivery().get("possible_duplicates", 0))
        finally:
            figures.exit_codes.append(second.stop())
        figures.accepted = len(accepted)
        counts = item_counts(slack)
        figures.posted_once_or_more = sum(1 for n in accepted if counts[n] > 0)
        figures.posted_twice = sum(1 for n in counts if counts[n] > 1)
        figures.lost = sum(1 for n in accepted if counts[n] == 0)
    return figures
