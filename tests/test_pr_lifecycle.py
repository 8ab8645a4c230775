"""A pull request's lifecycle through the whole service, with the starter config.

GitHub webhooks (signed) → the github source → routes (#dev-api) → batching and the live
digest → slack_sdk → FakeSlack, on a ManualClock. What the channel reads must follow each
PR by its key: one line per PR with the states it went through, in the parent and the
thread, and every event posted once.
"""

from __future__ import annotations

from slack_batcher.sources.samples import github_event
from slack_batcher.testing.storm_run import Delivery, run_deliveries


def _pr(at: float, event: str, action: str, number: int, **fields: object) -> Delivery:
    minute = f"2026-03-02T14:{10 + int(at // 60):02d}:00Z"
    body = github_event(event, action, number=number, at=minute, **fields)
    return Delivery(at, "github", body, event)


async def test_a_pull_request_opened_reviewed_and_merged_reads_as_one_line_with_its_path() -> None:
    deliveries = [
        _pr(0, "pull_request", "opened", 42, title="Add auth"),
        _pr(60, "pull_request", "opened", 43, title="Rate limit API", sender="bob"),
        _pr(120, "pull_request_review", "submitted", 42, title="Add auth", state="approved"),
        _pr(180, "pull_request", "closed", 42, title="Add auth", merged=True),
        _pr(240, "pull_request", "closed", 43, title="Rate limit API", merged=False),
    ]

    run = await run_deliveries(deliveries, channel="#dev-api")

    assert len(run.parents) == 1  # one digest for the acme/api PRs
    [parent] = run.parents
    assert parent.text.startswith("5 updates in acme/api")  # PR events are counted as updates
    # A small digest: the parent, edited at each event, lists every PR once, in its last
    # state with its path; there is no thread.
    pr42 = [line for line in parent.text.splitlines() if "Add auth" in line]
    assert len(pr42) == 1  # one line for PR 42, however many events
    assert "— merged" in pr42[0] and "opened → approved → merged" in pr42[0]
    pr43 = [line for line in parent.text.splitlines() if "Rate limit API" in line]
    assert len(pr43) == 1 and "— closed" in pr43[0] and "opened → closed" in pr43[0]
    assert not run.thread(parent)
    assert run.calls == len(deliveries)  # one post, then one edit per event
