"""Replay benchmark: recorded traffic through the starter config and the old one, side by side.

`python -m benchmarks replay` runs ``slack-batcher replay``'s engine on:

- a month of a public repository (``benchmarks/data/fastapi-2026-06.jsonl.gz``, made by
  ``benchmarks/real_traffic.py`` from fastapi/fastapi's real history, see docs/replay.md);
- the bundled demo day (``slack_batcher/data/demo-webhooks.jsonl``);
- an Alertmanager storm when ``benchmarks/data/alert-storm.jsonl`` exists.

Each under three configurations: the **starter** config (``slack-batcher config init``: the
leading edge, 1-minute windows, 2 minutes for CI, digest news at most once a minute, the
Slack-call budget with its catch-up edit), the same with ``[delivery] digest_call_budget =
false``, and the **old** one (the same file as
it was before: the seed's window, 5 minutes, 10 for CI, no leading edge, no reply
interval). Simulated time: the figures are exact and the same on any machine. "time to
send" runs from an event's arrival until the first post, reply or edit showing it (an edit
of a small live digest's parent lists its items).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from slack_batcher.delivery.jsonl import JsonlSender
from slack_batcher.demo.data import load_deliveries, starter_config
from slack_batcher.demo.replay import run_replay
from slack_batcher.demo.report import ReplayReport, replay_report
from slack_batcher.demo.run import DAY_START, with_demo_secrets
from slack_batcher.http.settings import ServiceSettings, load_settings

DATA = Path(__file__).parent / "data"
MONTH = DATA / "fastapi-2026-06.jsonl.gz"
STORM = DATA / "alert-storm.jsonl"

#: The old starter's batching, restored in the starter file's text.
_OLD = [
    ("max_batch_age_minutes = 1\nflush_leading = true\n", "max_batch_age_minutes = 5\n"),
    (
        "max_batch_size = 10\nmax_batch_age_minutes = 2\n",
        "max_batch_size = 10\nmax_batch_age_minutes = 10\n",
    ),
    ("digest_reply_interval_seconds = 60\n", ""),
]


def old_starter_text() -> str:
    """Return the starter configuration as it was before the leading edge (5-minute windows)."""
    old = starter_config()
    for new, before in _OLD:
        if new not in old:
            raise SystemExit(f"the starter config no longer has {new!r}: update bench_replay")
        old = old.replace(new, before)
    return old


def old_starter_settings() -> ServiceSettings:
    """Return the settings of :func:`old_starter_text`."""
    with tempfile.TemporaryDirectory(prefix="bench-old-starter-") as tmp:
        path = Path(tmp) / "config.toml"
        path.write_text(old_starter_text(), encoding="utf-8")
        return load_settings(path)


def configs(directory: Path) -> dict[str, ServiceSettings]:
    """Return the starter settings and the old ones (each with demo secrets)."""
    starter = starter_config()
    old = old_starter_text()
    found = {}
    unbudgeted = starter.replace(
        "digest_reply_interval_seconds = 60\n",
        "digest_reply_interval_seconds = 60\ndigest_call_budget = false\n",
    )
    for name, text in (
        ("old (5 min window)", old),
        ("starter, no call budget", unbudgeted),
        ("starter (call budget)", starter),
    ):
        path = directory / "config.toml"
        path.write_text(text, encoding="utf-8")
        found[name] = with_demo_secrets(load_settings(path))
    return found


def replay_file(
    path: Path | None, settings: ServiceSettings, directory: Path
) -> tuple[ReplayReport, float]:
    """Replay *path* (None: the demo day) through *settings*; return the report and seconds."""
    deliveries = load_deliveries(path)
    posts = directory / "posts.jsonl"
    posts.unlink(missing_ok=True)
    started = time.perf_counter()
    run = run_replay(
        deliveries,
        settings,
        start=DAY_START,
        sender=lambda clock: JsonlSender(posts, clock=clock),
    )
    return replay_report(run), time.perf_counter() - started


def row(name: str, report: ReplayReport, seconds: float) -> str:
    """One line of the table."""
    total = report.total
    per_event = total.slack_calls / total.events if total.events else 0.0
    mean, p50, peak = (total.wait(k) or 0.0 for k in ("mean", "p50", "max"))
    return (
        f"{name:<24}{total.events:>7}{total.top_level_posts:>7}{total.replies:>8}"
        f"{total.edits:>7}{total.slack_calls:>7}{per_event:>7.2f}{mean:>7.0f}{p50:>6.0f}"
        f"{peak:>6.0f}{report.pending:>5}   ({seconds:.1f} s)"
    )


def main() -> None:
    """Print the side-by-side table for each traffic file."""
    files: list[tuple[str, Path | None]] = [
        ("a month of fastapi/fastapi", MONTH),
        ("the demo day", None),
    ]
    if STORM.exists():
        files.append(("an Alertmanager storm", STORM))
    header = (
        f"{'config':<24}{'events':>7}{'posts':>7}{'replies':>8}{'edits':>7}{'calls':>7}"
        f"{'/event':>7}{'avg s':>7}{'p50':>6}{'max':>6}{'left':>5}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        directory = Path(tmp)
        settings = configs(directory)
        for title, path in files:
            print(f"\n{title}: time to send = arrival → first call showing it (simulated clock)")
            print(header)
            for name, chosen in settings.items():
                report, seconds = replay_file(path, chosen, directory)
                print(row(name, report, seconds))


if __name__ == "__main__":
    main()
