"""`make demo`: the bundled day of events through the real pipeline, output checked."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from slack_batcher.demo import load_events

REPO = Path(__file__).resolve().parent.parent
EVENTS = REPO / "examples" / "events"


def test_the_bundled_stream_is_a_realistic_day_across_six_channels() -> None:
    events = load_events(EVENTS)
    assert 300 <= len(events) <= 1500
    channels = Counter(e.channel for e in events)
    assert len(channels) == 6
    kinds = Counter(e.message.content_type.value for e in events)
    assert {"pr_update", "jira_update", "ci_build", "deployment", "alert"} <= set(kinds)
    assert len({e.message.id for e in events}) == len(events)
    storm = [e for e in events if e.channel == "#alerts" and 20_000 <= e.at <= 21_600]
    assert len(storm) >= 100, "a critical alert storm in the afternoon"
    assert any(e.message.priority == "critical" for e in storm)


def test_make_demo_batches_every_event_into_exactly_one_post(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "examples" / "demo.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    output = tmp_path / "demo-output"
    summary = json.loads((output / "summary.json").read_text())
    events = load_events(EVENTS)
    assert summary["events"] == len(events)
    assert summary["posts"] < summary["events"]

    carried = Counter(i for post in summary["post_events"] for i in post["event_ids"])
    assert set(carried) == {e.message.id for e in events}
    assert max(carried.values()) == 1, "no event is posted twice"

    payloads = [json.loads(line) for line in (output / "posts.jsonl").read_text().splitlines()]
    posts = [p for p in payloads if p.get("method") != "chat.update"]
    assert len(posts) == summary["posts"]
    assert all(p["blocks"] and p["text"] for p in payloads)

    page = (output / "index.html").read_text()
    channels = {e.channel for e in events}
    for channel in channels:
        assert channel in page
        assert channel in done.stdout
    assert "reduction" in done.stdout and "total" in done.stdout
    assert "<script" not in page.lower()


def test_the_demo_storm_is_a_few_live_digests_that_grow_in_place(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "examples" / "demo.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    output = tmp_path / "demo-output"
    storm = json.loads((output / "summary.json").read_text())["storm"]

    assert storm["events"] >= 100
    assert storm["top_level_posts"] <= 3
    assert storm["top_level_posts_without_digests"] > 10 * storm["top_level_posts"]
    assert storm["edits"] > 0 and storm["thread_replies"] > 0
    assert "Storm in #alerts 14:10–14:20" in " ".join(done.stdout.split())
    page = (output / "index.html").read_text()
    assert "A live digest in #alerts" in page
