"""Issue 18's Alertmanager storm as a replay file, and what Alertmanager 0.32 alone would post.

``python -m benchmarks.storm_file [-o benchmarks/data/alert-storm.jsonl]`` writes the
notifications :func:`slack_batcher.testing.alert_storm.notifications` plays for
:func:`~slack_batcher.testing.alert_storm.realistic_storm` (37 alerts in four groups,
``group_wait`` 30 s, ``group_interval`` 5 min, ``send_resolved``) as JSON lines for
``slack-batcher replay``, and prints what a Slack receiver with ``update_message: true``
(Alertmanager 0.32, prometheus/alertmanager#5007) makes of the same notifications
(``bench_storm.update_message_model``: one message per alert group, posted at the group's
first notification and edited in place at each later one — one Slack call per
notification — whose final text lists the alerts of the group's last notification only).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from benchmarks.bench_storm import update_message_model
from slack_batcher.testing.alert_storm import notifications, realistic_storm

DEFAULT = Path(__file__).parent / "data" / "alert-storm.jsonl"


def storm_lines() -> list[dict[str, Any]]:
    """Return the storm's notifications as replay lines (``at``: seconds from its start)."""
    return [
        {"at": n.at, "source": "alertmanager", "body": n.body}
        for n in notifications(realistic_storm())
    ]


def main(argv: list[str]) -> int:
    """Write the file and print Alertmanager's own figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT)
    args = parser.parse_args(argv)
    lines = storm_lines()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    figures = update_message_model(notifications(realistic_storm()))
    print(f"{len(lines)} notifications to {args.output}")
    print(f"Alertmanager 0.32, update_message: true: {figures}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
