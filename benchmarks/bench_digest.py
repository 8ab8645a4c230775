"""Digest benchmark: the demo's day replayed under four batching setups, side by side.

The demo's bundled day (1 107 provider webhooks: GitHub, Jira, Alertmanager, with a
210-event alert storm in #alerts from 14:10) runs as ``make demo`` runs it: through the
``/v1/sources/*`` endpoints, the starter ``[[routes]]`` as they were before the leading
edge (5-minute windows, 10 for CI: ``bench_replay.old_starter_settings``; #alerts: one
digest per channel) and the runtime on a simulated clock, into the dry-run sender (which
returns a ``ts`` and can edit, as SlackSender does):

(a) seed defaults, live digests off: every flush is a new top-level post;
(b) + live digests (the default now): later flushes of a key go to its digest's thread;
(c) + flush_leading: the first event of a quiet key is posted at once;
(d) sliding window with a 15-minute cap (+ live digests).

Figures: top-level posts (what people see in the channels), Web API calls (posts,
replies and edits), top-level posts in the storm (#alerts 14:10–14:20), and the wait of
each event from arrival until Slack first shows it (p50/p99/max; a live digest's
re-post of its first items does not count, they were shown in the post itself).
Simulated time, so the figures are exact and do not depend on the machine. It uses the
demo's ``run_day`` so that both replay the day the same way.

Then the cost of one live-digest summary per flush (CPU time, best of 3) at digest sizes
50 / 500 / 5 000 items, for two workloads: distinct pull requests (every item its own row,
as ``bench_http`` sends) and an alert storm (20 alert names on 40 hosts, repeats collapsing,
a fifth resolving, times a little out of order). "re-render" is
:func:`format_digest_summary` over every item with the item views cached (what each flush
cost before); "fold" is :class:`DigestState` taking the flush's 5 new items and rendering.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.bench_replay import old_starter_settings
from slack_batcher import BatchableMessage, BatchConfig, ContentType, FormatOptions
from slack_batcher.demo.run import (
    STORM_CHANNEL,
    STORM_END,
    STORM_START,
    load_deliveries,
    run_day,
)
from slack_batcher.formatting.digest_state import DigestState
from slack_batcher.formatting.digest_summary import format_digest_summary
from slack_batcher.formatting.items import DEFAULT_ITEM_FORMATTERS, ItemFormatter, ItemView

#: (name, changes to the starter configuration's [batching], live digests on)
SETUPS: list[tuple[str, dict[str, Any], bool]] = [
    ("(a) seed defaults, digests off", {}, False),
    ("(b) + live digests", {}, True),
    ("(c) + flush_leading", {"flush_leading": True}, True),
    ("(d) sliding, 15 min cap", {"window": "sliding", "max_wait_minutes": 15}, True),
]


def _percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run_setup(changes: dict[str, Any], digests: bool) -> dict[str, Any]:
    """Replay the bundled day with *changes* to the batching config; return the figures."""
    settings = old_starter_settings()  # the seed's windows: what the table below compares
    config: BatchConfig = replace(settings.batch_config, **changes)
    settings = settings.model_copy(update={"batching": config})
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-digest-") as tmp:
        run = run_day(
            load_deliveries(), settings, Path(tmp) / "posts.jsonl", None, live_digests=digests
        )
    elapsed = time.perf_counter() - started
    calls = run.ledger.calls
    shown = run.ledger.first_shown()
    tally = run.tally
    waits = sorted(
        (shown[(routed["channel"], routed["id"])] - at).total_seconds()
        for routed, at in zip(tally.routed, tally.routed_at, strict=True)
        if (routed["channel"], routed["id"]) in shown
    )
    return {
        "top_level": sum(1 for c in calls if c.is_top_level),
        "calls": len(calls),
        "storm_top_level": sum(
            1
            for c in calls
            if c.is_top_level and c.channel == STORM_CHANNEL and STORM_START <= c.at < STORM_END
        ),
        "events": len(tally.routed),
        "shown": len(waits),
        "p50": _percentile(waits, 0.5),
        "p99": _percentile(waits, 0.99),
        "max": waits[-1],
        "seconds": elapsed,
    }


T0 = datetime(2026, 3, 2, 14, 10, tzinfo=UTC)
SIZES = (50, 500, 5000)
BATCH = 5
FLUSHES = 20  # flushes timed per size (items S … S + 100), averaged


def distinct_prs(count: int) -> list[BatchableMessage]:
    """Pull requests, each its own row (one timestamp, as bench_http sends them)."""
    return [
        BatchableMessage(
            id=f"pr-{n}",
            content_type=ContentType.PR_UPDATE,
            author=f"dev{n % 7}",
            timestamp=T0,
            data={
                "repository": "acme/repo1",
                "number": n,
                "title": f"Change number {n}",
                "action": "opened",
                "url": f"https://github.com/acme/repo1/pull/{n}",
            },
        )
        for n in range(count)
    ]


def alert_storm(count: int) -> list[BatchableMessage]:
    """An alert storm: 20 names on 40 hosts, repeats, a fifth resolving, times jittered."""
    rnd = random.Random(count)
    messages = []
    for n in range(count):
        resolved = n > count // 2 and rnd.random() < 0.2
        messages.append(
            BatchableMessage(
                id=f"alert-{n}",
                content_type=ContentType.ALERT,
                priority=rnd.choice(["critical", "high", "high", "medium"]),
                timestamp=T0 + timedelta(seconds=n * 2 + rnd.randint(-30, 0)),
                data={
                    "alertname": f"Alert{rnd.randrange(20)}",
                    "service": "api",
                    "severity": "warning",
                    "status": "resolved" if resolved else "firing",
                    "instance": f"host-{rnd.randrange(40):02}",
                },
            )
        )
    return messages


def _cached_views(messages: list[BatchableMessage]) -> dict[ContentType, ItemFormatter]:
    """Item formatters answering from views rendered once (as the runtime cached them)."""
    options = FormatOptions()
    views = {id(m): DEFAULT_ITEM_FORMATTERS[m.content_type](m, options) for m in messages}

    def view_of(message: BatchableMessage, options: FormatOptions) -> ItemView:
        return views[id(message)]

    return dict.fromkeys(ContentType, view_of)


def _best(run: Callable[[], float]) -> float:
    return min(run() for _ in range(3))


def summary_costs(make: Callable[[int], list[BatchableMessage]], size: int) -> tuple[float, float]:
    """Return (re-render, fold) CPU µs per flush of a digest of *size* items."""
    messages = make(size + BATCH * FLUSHES)
    formatters = _cached_views(messages)

    def rerender() -> float:
        started = time.process_time()
        for flush in range(1, FLUSHES + 1):
            upto = messages[: size + BATCH * flush]
            ordered = sorted(upto, key=lambda m: m.timestamp)
            format_digest_summary(ordered, item_formatters=formatters, replies=flush)
        return (time.process_time() - started) / FLUSHES

    def fold() -> float:
        state = DigestState()
        state.fold(messages[:size])
        started = time.process_time()
        for flush in range(FLUSHES):
            state.fold(messages[size + BATCH * flush : size + BATCH * (flush + 1)])
            state.render(replies=flush + 1)
        return (time.process_time() - started) / FLUSHES

    return _best(rerender) * 1e6, _best(fold) * 1e6


def summary_table() -> None:
    """Print the per-flush summary cost, re-rendered vs folded, by digest size."""
    print()
    print(f"live-digest summary per flush of {BATCH} items, CPU µs (best of 3)")
    print(f"{'workload':<22}{'items':>7}{'re-render':>11}{'fold':>9}{'ratio':>8}")
    workloads = [("distinct PRs", distinct_prs), ("alert storm", alert_storm)]
    for name, make in workloads:
        for size in SIZES:
            full, folded = summary_costs(make, size)
            print(f"{name:<22}{size:>7}{full:>11.0f}{folded:>9.0f}{full / folded:>7.1f}×")


def main() -> None:
    """Print the table for docs/grouping.md, then the summary cost per flush."""
    print("The bundled day through /v1/sources/*, the starter routes and the runtime;")
    print("waits in seconds from arrival to first shown in Slack (simulated clock)")
    header = (
        f"{'setup':<32}{'top-level':>10}{'API calls':>10}{'storm':>7}"
        f"{'p50':>7}{'p99':>7}{'max':>7}{'shown':>7}"
    )
    print(header)
    for name, changes, digests in SETUPS:
        f = run_setup(changes, digests)
        print(
            f"{name:<32}{f['top_level']:>10}{f['calls']:>10}{f['storm_top_level']:>7}"
            f"{f['p50']:>7.0f}{f['p99']:>7.0f}{f['max']:>7.0f}{f['shown']:>7}"
            f"   ({f['seconds']:.1f} s to run)"
        )
    summary_table()


if __name__ == "__main__":
    main()
