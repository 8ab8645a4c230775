"""Full disk: `slack-batcher serve` on a 16 MiB tmpfs, filled until 503, drained, restarted.

Slack is down (rate limited) while 50 KB events are posted 4 at a time until the service
refuses one; then Slack is back, the outbox drains, 20 more events are posted, the service
is restarted (on the still-full volume, or after growing it to 32 MiB) and 20 more are
posted. In the "disk taken" variants the service is stopped before the drain instead,
another program takes every byte left, the restart delivers the outbox on that full disk
("drained"), then that program's file goes and 20 more events are posted. Every variant
prints what a user sees: events accepted, whether the outbox drained and the service was
ready after the drain and the restart, events never posted ("lost"), events posted twice
and the possible duplicates the service reported ("counted").
Needs root (it mounts a tmpfs). Run: ``python -m benchmarks disk``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from tests.full_volume import Figures, run_full_disk

#: (name, live digests, volume grown before the restart, disk taken before the drain)
VARIANTS = [
    ("digests off, restart full", False, False, False),
    ("digests on, restart full", True, False, False),
    ("digests off, restart freed", False, True, False),
    ("digests on, restart freed", True, True, False),
    ("digests off, disk taken", False, False, True),
    ("digests on, disk taken", True, False, True),
]


def _row(name: str, figures: Figures, seconds: float, taken: bool) -> str:
    ready = "-" if taken else ("yes" if figures.ready_after_drain else "NO")
    return (
        f"{name:<28} {figures.accepted:>8} {figures.refused_status:>7} "
        f"{'yes' if figures.drained else 'NO':>7} {ready:>6} "
        f"{'-' if taken else figures.accepted_after_drain:>6} "
        f"{'yes' if figures.ready_after_restart else 'NO':>8} "
        f"{figures.accepted_after_restart:>6} {figures.lost:>5} {figures.posted_twice:>7} "
        f"{figures.possible_duplicates:>7} {seconds:>6.0f}"
    )


def main() -> None:
    print(
        f"{'16 MiB volume':<28} {'accepted':>8} {'refused':>7} {'drained':>7} {'ready':>6} "
        f"{'+20':>6} {'restart':>8} {'+20':>6} {'lost':>5} {'twice':>7} {'counted':>7} {'s':>6}"
    )
    print(f"{'':<28} {'':>8} {'':>7} {'':>7} {'then':>6} {'':>6} {'ready':>8}")
    for name, digests, freed, taken in VARIANTS:
        with tempfile.TemporaryDirectory() as directory:
            started = time.perf_counter()
            figures = run_full_disk(
                Path(directory), digests=digests, free_before_restart=freed, taken=taken
            )
            print(_row(name, figures, time.perf_counter() - started, taken), flush=True)
