"""A realistic mix of engineering events: the workload of ``bench_compat``.

Unlike ``workload.py`` (every channel equally busy, flat data), this mix is shaped like the
traffic a team's Slack receives:

* 50 channels with Zipf-like traffic (a few busy ones, a long quiet tail), each following
  two to four "home" repositories (80% of its events) and seeing the others now and then;
* PR events (55%: opened, synchronize, review requested, approved, merged, closed) with
  labels, reviewers, branches and line counts; Jira events (30%) with a project key, a
  status move, type, assignee and priority; Alertmanager alerts (15%) with label and
  annotation objects, firing in small bursts of the same alert and then resolving;
* 20 authors (some logins in mixed case), each mostly active in a few repositories;
* titles of varied length, some with non-ASCII text and characters mrkdwn must escape;
* priorities from the events (a Jira "High", a critical alert), so a few batches flush
  early on urgency in ours (the original has no urgency: it waits for size or time).

Every message is built before timing starts, or built inside the timed loop from its
keyword arguments (``make_mix_kwargs``), as a caller receiving webhooks would.
"""

from __future__ import annotations

import random
import zlib
from datetime import timedelta
from typing import Any

from benchmarks.workload import T0
from slack_batcher import BatchableMessage, ContentType

__all__ = ["AUTHORS", "CHANNELS", "REPOS", "make_mix", "make_mix_kwargs"]

REPOS = [
    "acme/api",
    "acme/web",
    "acme/mobile-ios",
    "acme/mobile-android",
    "acme/billing",
    "acme/search",
    "acme/infra",
    "acme/data-pipeline",
    "acme/auth",
    "acme/docs",
]
#: Jira project key of each repository's team.
PROJECTS = ["API", "WEB", "IOS", "AND", "BIL", "SRCH", "OPS", "DATA", "AUTH", "DOCS"]
AUTHORS = [
    "alice",
    "bob-k",
    "Carol.M",
    "dave",
    "erin-dev",
    "Frank",
    "grace.h",
    "heidi",
    "ivan",
    "Judy-Q",
    "mallory",
    "niaj",
    "olivia",
    "peggy",
    "rupert",
    "Sybil",
    "trent",
    "victor",
    "walter",
    "yuki",
]
CHANNELS = 50
_PR_ACTIONS = ["opened", "synchronize", "review_requested", "approved", "merged", "closed"]
_PR_ACTION_WEIGHTS = [20, 30, 15, 15, 15, 5]
_LABELS = ["bug", "enhancement", "needs-review", "dependencies", "security", "docs", "perf"]
_STATUSES = ["To Do", "In Progress", "In Review", "Done", "Blocked"]
_ISSUE_TYPES = ["Bug", "Story", "Task", "Sub-task"]
_JIRA_PRIORITY = {"Highest": "critical", "High": "high", "Medium": "medium", "Low": "low"}
_ALERTS = ["HighLatency", "ErrorRateHigh", "PodCrashLooping", "DiskAlmostFull", "QueueBacklog"]
_TITLES = [
    "Fix flaky test in {m}",
    "Add retries to the {m} client",
    "Bump {m} from 2.3.1 to 2.4.0",
    "Refactor {m}: split the handler into smaller functions and add tests for edge cases",
    "Make {m} faster on cold start",
    "Don't crash when {m} returns <empty> & log it",
    "Übersetzung für {m} aktualisiert",
    "Remove dead code in {m}",
    "{m}: handle timeouts 🚀",
    "WIP: rewrite {m} caching layer (do not merge yet)",
]
_MODULES = ["auth", "billing", "search", "session", "cache", "router", "exporter", "scheduler"]


def _homes(rng: random.Random, channels: int) -> list[list[int]]:
    return [rng.sample(range(len(REPOS)), rng.randint(2, 4)) for _ in range(channels)]


def _repo_authors(rng: random.Random) -> list[list[str]]:
    return [rng.sample(AUTHORS, 6) for _ in REPOS]


def _pr(rng: random.Random, i: int, repo: int, author: str) -> dict[str, Any]:
    number = rng.randint(100, 9000)
    name = REPOS[repo]
    module = rng.choice(_MODULES)
    data: dict[str, Any] = {
        "repository": name,
        "number": number,
        "title": rng.choice(_TITLES).format(m=module),
        "action": rng.choices(_PR_ACTIONS, _PR_ACTION_WEIGHTS)[0],
        "url": f"https://github.com/{name}/pull/{number}",
        "head": f"{author.lower()}/{module}-{number % 50}",
        "base": "main",
        "additions": rng.randint(1, 900),
        "deletions": rng.randint(0, 400),
        "draft": rng.random() < 0.1,
    }
    labels = rng.sample(_LABELS, rng.randint(0, 3))
    if labels:
        data["labels"] = labels
    if data["action"] in ("review_requested", "approved"):
        data["reviewers"] = rng.sample(AUTHORS, rng.randint(1, 2))
    return {
        "id": f"gh-{i}",
        "content_type": ContentType.PR_UPDATE,
        "author": author,
        "priority": "high" if "security" in labels else "medium",
        "data": data,
    }


def _jira(rng: random.Random, i: int, repo: int, author: str) -> dict[str, Any]:
    project = PROJECTS[repo]
    key = f"{project}-{rng.randint(1, 4000)}"
    before, after = rng.sample(_STATUSES, 2)
    level = rng.choices(list(_JIRA_PRIORITY), [2, 15, 60, 23])[0]
    return {
        "id": f"jira-{i}",
        "content_type": ContentType.JIRA_UPDATE,
        "author": author,
        "priority": _JIRA_PRIORITY[level],
        "data": {
            "project": project,
            "key": key,
            "summary": rng.choice(_TITLES).format(m=rng.choice(_MODULES)),
            "status": after,
            "previous_status": before,
            "issue_type": rng.choice(_ISSUE_TYPES),
            "assignee": rng.choice(AUTHORS),
            "jira_priority": level,
            "url": f"https://acme.atlassian.net/browse/{key}",
        },
    }


def _alert(rng: random.Random, i: int, repo: int, burst: tuple[str, int]) -> dict[str, Any]:
    name, seq = burst
    service = REPOS[repo].split("/")[1]
    severity = "critical" if name == "ErrorRateHigh" else "warning"
    status = "resolved" if seq == 3 else "firing"
    instance = f"{service}-{rng.randint(0, 5)}:9090"
    return {
        "id": f"alert-{i}",
        "content_type": ContentType.ALERT,
        "author": None,
        "priority": "critical" if severity == "critical" and status == "firing" else "high",
        "data": {
            "alertname": name,
            "service": service,
            "severity": severity,
            "status": status,
            "fingerprint": f"{zlib.crc32(f'{name}/{service}'.encode()):08x}",
            "labels": {
                "alertname": name,
                "instance": instance,
                "job": service,
                "severity": severity,
                "team": PROJECTS[repo].lower(),
            },
            "annotations": {
                "summary": f"{name} on {service}",
                "description": f"{instance} has been over its threshold for 5 minutes.",
            },
            "url": f"https://grafana.example.com/d/{service}?var-instance={instance}",
        },
    }


def make_mix_kwargs(
    count: int = 20_000, channels: int = CHANNELS, seed: int = 7
) -> list[tuple[dict[str, Any], str]]:
    """Return *count* (BatchableMessage keyword arguments, channel id) pairs of the mix."""
    rng = random.Random(seed)
    weights = [1.0 / (rank + 1) ** 0.9 for rank in range(channels)]  # Zipf-like
    homes = _homes(rng, channels)
    repo_authors = _repo_authors(rng)
    names = [f"C{n:05d}MIX" for n in range(channels)]
    bursts: dict[int, tuple[str, int]] = {}  # channel -> (alert name, how far into its burst)
    out: list[tuple[dict[str, Any], str]] = []
    for i in range(count):
        channel = rng.choices(range(channels), weights)[0]
        home = homes[channel]
        repo = rng.choice(home) if rng.random() < 0.8 else rng.randrange(len(REPOS))
        author = rng.choice(repo_authors[repo]) if rng.random() < 0.85 else rng.choice(AUTHORS)
        kind = rng.random()
        if kind < 0.55:
            kwargs = _pr(rng, i, repo, author)
        elif kind < 0.85:
            kwargs = _jira(rng, i, repo, author)
        else:
            name, seq = bursts.get(channel, (rng.choice(_ALERTS), 0))
            kwargs = _alert(rng, i, home[0], (name, seq))
            bursts[channel] = (name, seq + 1) if seq < 3 else (rng.choice(_ALERTS), 0)
        kwargs["timestamp"] = T0 + timedelta(seconds=i * 1.3)
        out.append((kwargs, names[channel]))
    return out


def make_mix(
    count: int = 20_000, channels: int = CHANNELS, seed: int = 7
) -> list[tuple[BatchableMessage, str]]:
    """Return *count* (message, channel id) pairs of the mix, messages built."""
    pairs = make_mix_kwargs(count, channels, seed)
    return [(BatchableMessage(**kwargs), channel) for kwargs, channel in pairs]
