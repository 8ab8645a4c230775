"""`slack-batcher serve` on a full disk: 503 with the reason, /readyz 503, metrics, recovery.

The disk is a real one: a tmpfs of 8 MiB (tests/full_volume.py; the tests run as root), the
sender FakeSlack. Slack is down (rate limited) while events fill the store, so the outbox
grows; then it drains, and the service restarts. The other variants (live digests, a
restart after freeing space, 16 MiB) are ``python -m benchmarks disk``.
Rerun: ``.venv/bin/pytest tests/test_service_full_disk.py -q``.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from slack_batcher import ManualClock
from tests.full_volume import Figures, run_full_disk
from tests.test_http_harness import in_process


def check_figures(figures: Figures) -> None:
    # While full: new events get 503 naming the disk, /readyz says why, the process is live.
    assert figures.accepted > 50 and figures.refused_status == 503
    assert "disk is full" in figures.refused_detail
    assert not figures.ready_when_full and figures.live_when_full
    assert "slack_batcher_store_write_failing 1.0" in figures.metrics_when_full
    # Delivery goes on: every accepted event is posted, and the store accepts events again.
    assert figures.drained and figures.ready_after_drain and figures.accepted_after_drain == 20
    assert figures.ready_after_restart and figures.drained_after_restart
    assert figures.accepted_after_restart > 0
    assert figures.lost == 0
    assert figures.posted_twice <= figures.possible_duplicates
    assert figures.exit_codes == [0, 0]


@pytest.mark.timeout(400)  # two real serve processes, slower on a loaded machine
def test_a_full_volume_refuses_events_delivers_every_one_once_and_recovers(
    tmp_path: Path,
) -> None:
    """Restarted while still full."""
    figures = run_full_disk(tmp_path, digests=False, free_before_restart=False, volume_mib=8)
    check_figures(figures)
    assert figures.posted_twice == 0


@pytest.mark.timeout(600)
def test_live_digests_on_a_full_volume_give_the_room_back_once_the_outbox_drains(
    tmp_path: Path,
) -> None:
    """Every event ends in a live digest that outlives the run. A digest keeps only a few KB
    of each item (its texts cut where the summary cuts them). Before, it kept each 50 KB
    event whole: the volume stayed full after the outbox drained and new events got 503
    until the digests ended (on 16 MiB, not even a restart became ready, and ~120 accepted
    events were never posted)."""
    figures = run_full_disk(tmp_path, digests=True, free_before_restart=False, volume_mib=8)

    assert figures.accepted > 50 and figures.refused_status == 503
    assert figures.drained and figures.ready_after_drain and figures.accepted_after_drain == 20
    assert figures.ready_after_restart and figures.drained_after_restart
    assert figures.accepted_after_restart == 20
    assert figures.lost == 0
    assert figures.posted_twice <= figures.possible_duplicates
    assert figures.exit_codes == [0, 0]


async def test_readyz_is_503_as_soon_as_a_shutdown_is_requested(clock: ManualClock) -> None:
    async with in_process(clock) as app:
        assert (await app.client.get("/readyz")).status_code == 200
        app.service.request_shutdown(signal.SIGTERM)  # what the server's signal handler does
        ready = await app.client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["reason"] == "the service is shutting down"
