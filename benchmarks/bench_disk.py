"""Full disk: `slack-batcher serve` on a 16 MiB tmpfs, filled until 503, drained, restarted.

Slack is down (rate limited) while 50 KB events are posted 4 at a time until the service
refuses one; then Slack is back, the outbox drains, 20 more events are posted, the service
is restarted (on the still-full volume, or after growing it to 32 MiB) and 20 more are
posted. Every variant prints what a user sees: events accepted, posted twice, the possible
duplicates the service reported, and whether it was ready after the drain and the restart.
Needs root (it mounts a tmpfs). Run: ``python -m benchmarks disk``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from tests.full_volume import Figures, run_full_disk

VARIANTS = [
    ("digests off, restart full", False, False),
    ("digests on, restart full", True, False),
    ("digests off, restart freed", False, True),
    ("digests on, restart freed", True, True),
]


def _row(name: str, figures: Figures, seconds: float) -> str:
    return (
        f"{name:<28} {figures.accepted:>8} {figures.refused_status:>7} "
        f"{'yes' if figures.ready_after_drain else 'NO':>6} "
        f"{figures.accepted_after_drain:>6} "
        f"{'yes' if figures.ready_after_restart else 'NO':>8} "
        f"{figures.accepted_after_restart:>6} {figures.lost:>5} {figures.posted_twice:>7} "
        f"{figures.possible_duplicates:>7} {seconds:>6.0f}"
    )


def main() -> None:
    print(
        f"{'16 MiB volume':<28} {'accepted':>8} {'refused':>7} {'ready':>6} {'+20':>6} "
        f"{'restart':>8} {'+20':>6} {'lost':>5} {'twice':>7} {'counted':>7} {'s':>6}"
    )
    print(f"{'':<28} {'':>8} {'':>7} {'drained':>6} {'':>6} {'ready':>8}")
    for name, digests, freed in VARIANTS:
        with tempfile.TemporaryDirectory() as directory:
            started = time.perf_counter()
            figures = run_full_disk(Path(directory), digests=digests, free_before_restart=freed)
            print(_row(name, figures, time.perf_counter() - started), flush=True)
