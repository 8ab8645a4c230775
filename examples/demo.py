"""`make demo`: a day of a small team's webhooks, batched into Slack messages.

Replays the bundled day (GitHub, Jira and Alertmanager webhook bodies, signed) through the
service's /v1/sources/* endpoints and the [[routes]] of examples/slack-batcher.toml (the
starter config, bundled with the package): SQLite store, the runtime, the JSONL dry-run
sender, a simulated clock. Prints a table per channel and writes demo-output/ (posts.jsonl,
summary.json, index.html). No Slack token needed; with SLACK_BOT_TOKEN and
SLACK_DEMO_CHANNEL set it also posts the messages to that channel.
"""

from __future__ import annotations

import sys
from pathlib import Path

from slack_batcher.cli.commands import main

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    args = ["demo", "--config", str(HERE / "slack-batcher.toml"), "--output", "demo-output"]
    main([*args, *sys.argv[1:]], prog_name="slack-batcher")
