"""Three `slack-batcher serve` processes on one Redis; one is SIGKILLed mid-run for good.

Events are spread over the three instances by HTTP; the killed instance is never restarted.
Every event an instance accepted (HTTP 202) must reach FakeSlack — flushed and delivered by
the survivors when the dead instance's batches fall due, its claims and its posts' leases
run out — and an event may appear twice only in a post that was in flight at the kill,
which the survivors count as a possible duplicate.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from slack_batcher.testing import FakeSlack
from tests.redis_server import RedisServer, free_port
from tests.serve_process import clean_env, serve_command, wait_ready

TOKEN = "xoxb-fake-token"
EVENT = re.compile(r"evt-\d{5}")
EVENTS = 3000
CHANNELS = 12
PER_REQUEST = 25


def event(number: int) -> dict[str, object]:
    tag = f"evt-{number:05d}"
    return {
        "id": tag,
        "channel": f"C{number % CHANNELS:02d}",
        "content_type": "pr_update",
        "author": f"dev{number % 4}",
        "data": {"repository": "acme/api", "number": number, "title": tag},
    }


CONFIG = """
[batching]
max_batch_size = 10
max_batch_age_minutes = 0.05
items_per_page = 5
[store]
url = "{redis}"
prefix = "mp"
lease_seconds = 1.5
poll_seconds = 0.2
[sender]
kind = "slack"
slack_bot_token = "{token}"
slack_api_url = "{slack}"
[delivery]
channel_posts_per_second = 100.0
channel_burst = 50
workspace_posts_per_minute = 60000.0
workspace_burst = 1000
thread_related = false
shutdown_timeout_seconds = 10.0
[server]
port = {port}
[logging]
level = "WARNING"
"""


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.close()


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(token=TOKEN, posts_per_second=None) as server:
        yield server


class Instance:
    def __init__(self, directory: Path, redis: RedisServer, slack: FakeSlack, name: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = directory / f"{name}.toml"
        config.write_text(
            CONFIG.format(redis=redis.url, token=TOKEN, slack=slack.base_url, port=self.port)
        )
        self.log = (directory / f"{name}.log").open("w")
        self.process = subprocess.Popen(
            serve_command(config),
            env=clean_env(),
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )

    def wait_ready(self, deadline: float) -> None:
        wait_ready(self.url, self.process, deadline)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.log.close()


def item_posts(slack: FakeSlack) -> list[list[str]]:
    """The events of each post that lists items: an edited post is a live digest's summary
    (its first version was re-posted in its thread), so it is left out."""
    return [EVENT.findall(json.dumps(p.blocks)) for p in slack.posts if not p.history]


def posted(slack: FakeSlack) -> Counter[str]:
    return Counter(tag for tags in item_posts(slack) for tag in tags)


def test_three_instances_post_every_accepted_event_though_one_is_killed_mid_run(
    tmp_path: Path, redis_server: RedisServer, slack: FakeSlack
) -> None:
    instances = [Instance(tmp_path, redis_server, slack, f"i{n}") for n in range(3)]
    try:
        deadline = time.monotonic() + 30
        for instance in instances:
            instance.wait_ready(deadline)
        accepted: set[str] = set()
        victim = instances[1]
        killed_at = EVENTS // 3
        slow = None
        with httpx.Client(timeout=10) as client:
            for start in range(0, EVENTS, PER_REQUEST):
                if start == killed_at - 3 * PER_REQUEST:
                    # Slack answers late for a moment: the victim dies with posts in flight.
                    slow = slack.fail(delay=1.0)
                if start == killed_at:
                    assert slow is not None
                    in_flight = time.monotonic() + 10  # until a post is held up by Slack
                    while slow.hits == 0 and time.monotonic() < in_flight:
                        time.sleep(0.02)
                    victim.process.send_signal(signal.SIGKILL)
                    victim.process.wait(10)
                    slow.cancel()
                alive = [i for i in instances if i.process.poll() is None]
                target = alive[(start // PER_REQUEST) % len(alive)]
                if killed_at - 3 * PER_REQUEST <= start < killed_at:
                    target = victim
                body = [event(n) for n in range(start, min(start + PER_REQUEST, EVENTS))]
                try:
                    response = client.post(f"{target.url}/v1/messages", json=body)
                except httpx.TransportError:
                    continue  # not answered: not accepted (it may still be posted)
                assert response.status_code == 202, response.text
                accepted.update(str(e["id"]) for e in body)
        assert len(accepted) == EVENTS

        # The survivors flush what is left when it falls due and take over the victim's
        # posts once their leases run out.
        wait_until = time.monotonic() + 30
        while not accepted <= set(posted(slack)) and time.monotonic() < wait_until:
            time.sleep(0.25)
        counts = posted(slack)
        missing = accepted - set(counts)
        assert not missing, f"{len(missing)} accepted events never posted: {sorted(missing)[:5]}"

        survivors = [i for i in instances if i is not victim]
        delivery = [httpx.get(f"{i.url}/v1/stats").json()["delivery"] for i in survivors]
        possible = sum(d["possible_duplicates"] for d in delivery)
        # A duplicated event belongs to a page posted twice: once by the victim just before
        # it died, once by the survivor that took the post over (and counted it).
        duplicated_pages = {
            tuple(tags) for tags in item_posts(slack) if any(counts[tag] > 1 for tag in tags)
        }
        assert len(duplicated_pages) <= possible, (duplicated_pages, possible)
        assert possible >= 1, "the victim died with posts in flight: they count"
        assert sum(d["recovered"] for d in delivery) >= possible
        print(
            f"posts {len(slack.posts)}, duplicated pages {len(duplicated_pages)}, "
            f"possible duplicates {possible}, taken over {sum(d['recovered'] for d in delivery)}"
        )
    finally:
        for instance in instances:
            instance.stop()
