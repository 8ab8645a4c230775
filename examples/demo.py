"""`make demo`: a day of a small team's events, batched into Slack messages.

Replays examples/events/*.jsonl through the real pipeline (SQLite store, the runtime, the
JSONL dry-run sender, a simulated clock), prints a table per channel and writes
demo-output/ (posts.jsonl, summary.json, index.html). No Slack token needed; with
SLACK_BOT_TOKEN and SLACK_DEMO_CHANNEL set it also posts the messages to that channel.
"""

from __future__ import annotations

import sys
from pathlib import Path

from slack_batcher.cli import main

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    args = ["demo", "--events", str(HERE / "events"), "--output", "demo-output", *sys.argv[1:]]
    main(args, prog_name="slack-batcher")
