"""The core benchmark's workload: PR / JIRA / alert events from 20 authors in 10 repositories."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from slack_batcher import BatchableMessage, ContentType, MessageBatcher

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AUTHORS = [f"dev{i:02d}" for i in range(20)]
REPOS = [f"acme/service-{i}" for i in range(10)]


def make_messages(
    count: int, channels: int = 50, seed: int = 1
) -> list[tuple[BatchableMessage, str]]:
    """Return *count* (message, channel) pairs, each message with its own strings."""
    rng = random.Random(seed)
    names = [f"C{n:05d}" for n in range(channels)]  # channel ids come from a fixed set
    out: list[tuple[BatchableMessage, str]] = []
    for i in range(count):
        repo = rng.choice(REPOS)
        author = rng.choice(AUTHORS)
        kind = rng.random()
        when = T0 + timedelta(seconds=i)
        if kind < 0.6:
            number = rng.randint(1, 5000)
            message = BatchableMessage(
                id=f"gh-{i}",
                content_type=ContentType.PR_UPDATE,
                timestamp=when,
                author=author,
                data={
                    "repository": repo,
                    "number": number,
                    "title": f"Fix flaky test in module {number % 97}",
                    "action": rng.choice(["opened", "reviewed", "merged"]),
                    "url": f"https://github.com/{repo}/pull/{number}",
                },
            )
        elif kind < 0.9:
            key = f"API-{rng.randint(1, 9999)}"
            message = BatchableMessage(
                id=f"jira-{i}",
                content_type=ContentType.JIRA_UPDATE,
                timestamp=when,
                author=author,
                data={
                    "project": repo,
                    "key": key,
                    "summary": f"Ticket {key} moved",
                    "status": rng.choice(["To Do", "In Progress", "Done"]),
                    "url": f"https://acme.atlassian.net/browse/{key}",
                },
            )
        else:
            message = BatchableMessage(
                id=f"alert-{i}",
                content_type=ContentType.ALERT,
                timestamp=when,
                priority=rng.choice(["high", "medium", "low"]),
                data={
                    "alertname": f"HighLatency{i % 7}",
                    "service": repo,
                    "severity": "warning",
                    "url": f"https://grafana.example.com/a/{i}",
                },
            )
        out.append((message, names[rng.randrange(channels)]))
    return out


def run_workload(
    batcher: MessageBatcher,
    workload: list[tuple[BatchableMessage, str]],
    timer: Callable[[], float] = time.perf_counter,
) -> float:
    """Add every message, render each post to a dict as a sender would; return seconds."""
    start = timer()
    for message, channel in workload:
        ready = batcher.add_message(message, channel)
        if ready is not None:
            ready.to_dict()
    for messages in batcher.flush_all_batches().values():
        for ready in messages:
            ready.to_dict()
    return timer() - start
