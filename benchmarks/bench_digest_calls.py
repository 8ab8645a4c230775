"""Live digests' Slack calls: the starter config with and without the digest call options.

`python -m benchmarks digest_calls` replays a month of fastapi/fastapi and the demo day
(see :mod:`benchmarks.bench_replay`) through the starter config with neither digest call
option, then with ``[delivery] digest_reply_interval_seconds = 60`` and/or
``digest_call_budget = true`` (the starter has both), and
prints the figures side by side: posts, replies, edits, Slack calls per event and the time
to first visible. Simulated time: the figures are exact and the same on any machine.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

from benchmarks.bench_replay import MONTH, configs, replay_file, row
from slack_batcher.http.settings import ServiceSettings

VARIANTS = {
    "neither": {"digest_reply_interval_seconds": 0.0, "digest_call_budget": False},
    "+ reply interval 60 s": {"digest_reply_interval_seconds": 60.0, "digest_call_budget": False},
    "+ call budget": {"digest_reply_interval_seconds": 0.0, "digest_call_budget": True},
    "+ both (starter)": {"digest_reply_interval_seconds": 60.0, "digest_call_budget": True},
}


def variant(settings: ServiceSettings, changes: dict[str, object]) -> ServiceSettings:
    """Return *settings* with *changes* to its ``[delivery]`` table."""
    delivery = replace(settings.delivery, **changes)  # type: ignore[arg-type]
    return settings.model_copy(update={"delivery": delivery})


def main() -> None:
    """Print the side-by-side table for each traffic file."""
    header = (
        f"{'config':<24}{'events':>7}{'posts':>7}{'replies':>8}{'edits':>7}{'calls':>7}"
        f"{'/event':>7}{'avg s':>7}{'p50':>6}{'max':>6}{'left':>5}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-digest-calls-") as tmp:
        directory = Path(tmp)
        starter = configs(directory)["starter (call budget)"]
        for title, path in (("a month of fastapi/fastapi", MONTH), ("the demo day", None)):
            print(f"\n{title}: time to send = arrival → first call showing it (simulated clock)")
            print(header)
            for name, changes in VARIANTS.items():
                report, seconds = replay_file(path, variant(starter, changes), directory)
                print(row(name, report, seconds))


if __name__ == "__main__":
    main()
