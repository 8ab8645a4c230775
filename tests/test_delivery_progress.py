"""Delivery progress as stored with an outbox entry: typed, round-tripped, old rows read."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from slack_batcher.model.progress import DeliveryProgress, DigestPlan, DigestStep

ts = st.from_regex(r"\A1[0-9]{9}\.[0-9]{6}\Z")
steps = st.sampled_from(list(DigestStep))
plans = st.builds(
    DigestPlan, key=st.text(min_size=1), parent=st.none() | ts, step=st.none() | steps
)
times = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)


@st.composite
def progresses(draw: st.DrawFn) -> DeliveryProgress:
    decided = draw(st.booleans())
    failures = draw(st.integers(0, 50))
    return DeliveryProgress(
        posted=draw(st.lists(st.none() | ts, max_size=4)),
        thread_decided=decided,
        parent_ts=draw(st.none() | ts) if decided else None,
        attempting=draw(st.none() | st.integers(0, 40) | steps),
        failures=failures,
        failing_since=draw(times) if failures else None,
        digest=draw(st.none() | plans),
        taken_over=draw(st.none() | st.text(min_size=1, max_size=8)),
        extra=draw(st.dictionaries(st.sampled_from(["later", "newer_key"]), st.integers())),
    )


@given(progresses())
def test_progress_survives_the_json_a_store_keeps(progress: DeliveryProgress) -> None:
    assert DeliveryProgress.from_dict(json.loads(json.dumps(progress.to_dict()))) == progress


def test_an_untyped_row_of_an_earlier_version_reads_as_what_it_meant() -> None:
    since = datetime(2026, 3, 2, 14, 10, tzinfo=UTC)
    old = {
        "posted": ["1767225600.000100", None],
        "parent_ts": None,
        "attempting": 2,
        "failures": 3,
        "failing_since": since.isoformat(),
        "digest": {"key": "C1\x1falert:api", "parent": "1767225600.000001", "step": "update"},
    }

    progress = DeliveryProgress.from_dict(old)

    assert progress.posted == ["1767225600.000100", None]
    assert progress.thread_decided and progress.parent_ts is None  # decided: top level
    assert progress.attempting == 2
    assert (progress.failures, progress.failing_since) == (3, since)
    assert progress.digest == DigestPlan("C1\x1falert:api", "1767225600.000001", DigestStep.UPDATE)
    assert progress.to_dict() == old


def test_an_empty_or_damaged_row_starts_from_nothing_rather_than_failing() -> None:
    assert DeliveryProgress.from_dict({}) == DeliveryProgress()
    assert DeliveryProgress.from_dict(None) == DeliveryProgress()
    damaged = DeliveryProgress.from_dict(
        {"posted": "x", "failures": "many", "failing_since": "yesterday", "digest": [1]}
    )
    assert damaged.posted == [] and damaged.failures == 0
    assert damaged.failing_since is None and damaged.digest is None
    assert damaged.extra == {}


def test_a_thread_not_decided_is_told_from_one_decided_to_be_top_level() -> None:
    undecided = DeliveryProgress()
    top_level = DeliveryProgress(thread_decided=True)
    assert "parent_ts" not in undecided.to_dict()
    assert top_level.to_dict() == {"parent_ts": None}
    assert DeliveryProgress.from_dict(top_level.to_dict()).thread_decided


def test_clearing_failures_after_an_accepted_call() -> None:
    progress = DeliveryProgress(
        attempting=DigestStep.CONVERT, failures=2, failing_since=datetime.now(UTC) - timedelta(1)
    )
    progress.clear_failures()
    assert progress.to_dict() == {}
