"""Digest benchmark: the demo's day replayed under four batching setups, side by side.

The demo's bundled day (1 107 provider webhooks: GitHub, Jira, Alertmanager, with a
210-event alert storm in #alerts from 14:10) runs as ``make demo`` runs it: through the
``/v1/sources/*`` endpoints, the starter ``[[routes]]`` (#alerts: one digest per channel)
and the runtime on a simulated clock, into the dry-run sender (which returns a ``ts`` and
can edit, as SlackSender does):

(a) seed defaults, live digests off: every flush is a new top-level post;
(b) + live digests (the default now): later flushes of a key go to its digest's thread;
(c) + flush_leading: the first event of a quiet key is posted at once;
(d) sliding window with a 15-minute cap (+ live digests).

Figures: top-level posts (what people see in the channels), Web API calls (posts,
replies and edits), top-level posts in the storm (#alerts 14:10–14:20), and the wait of
each event from arrival until Slack first shows it (p50/p99/max; a live digest's
re-post of its first items does not count, they were shown in the post itself).
Simulated time, so the figures are exact and do not depend on the machine. It uses the
demo's private ``_run`` so that both replay the day the same way.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from slack_batcher import BatchConfig
from slack_batcher.demo import (
    STORM_CHANNEL,
    STORM_END,
    STORM_START,
    _run,
    demo_settings,
    load_deliveries,
)

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
    settings = demo_settings()
    config: BatchConfig = replace(settings.batch_config, **changes)
    settings = settings.model_copy(update={"batching": config})
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-digest-") as tmp:
        recorder, _, tally = _run(
            load_deliveries(), settings, Path(tmp) / "posts.jsonl", None, live_digests=digests
        )
    elapsed = time.perf_counter() - started
    recent = list(reversed(recorder.recent()))
    posted_at = {p.ts: p.posted_at for p in recent if p.ts}
    shown: dict[str, datetime] = {}
    for post in recent:
        at = post.posted_at
        if post.message.metadata.get("digest_repost") and post.thread_ts in posted_at:
            at = posted_at[post.thread_ts]  # first shown in the digest post itself
        for message_id in post.message.metadata.get("message_ids", []):
            shown.setdefault(str(message_id), at)
    arrivals = tally.arrivals
    waits = sorted((shown[i] - arrivals[i]).total_seconds() for i in arrivals if i in shown)
    edits = sum(p.edits for p in recent)
    return {
        "top_level": sum(1 for p in recent if p.thread_ts is None),
        "calls": len(recent) + edits,
        "storm_top_level": sum(
            1
            for p in recent
            if p.thread_ts is None
            and p.channel == STORM_CHANNEL
            and STORM_START <= p.posted_at < STORM_END
        ),
        "events": len(arrivals),
        "shown": len(waits),
        "p50": _percentile(waits, 0.5),
        "p99": _percentile(waits, 0.99),
        "max": waits[-1],
        "seconds": elapsed,
    }


def main() -> None:
    """Print the table for docs/grouping.md."""
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


if __name__ == "__main__":
    main()
