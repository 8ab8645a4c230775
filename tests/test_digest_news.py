"""Threads carry news only, and the call budget still ends with a true parent.

Through the whole service (sources → routes → batcher → runtime → slack_sdk → FakeSlack,
the starter config, a ManualClock) and, for the property, through the news rule itself.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from slack_batcher import BatchConfig, ManualClock, MemoryStore, MessageBatcher
from slack_batcher.formatting.digest_news import news_items
from slack_batcher.formatting.message import SlackMessage
from slack_batcher.model.message import BatchableMessage, ContentType
from slack_batcher.model.progress import DigestPlan, DigestStep
from slack_batcher.runtime import ServiceConfig
from slack_batcher.runtime.digest_joins import reply_of
from slack_batcher.runtime.digests import LiveDigests
from slack_batcher.store.base import OutboxEntry
from slack_batcher.testing import FakeSlack
from slack_batcher.testing.alert_storm import StormAlert, notifications, realistic_storm
from slack_batcher.testing.storm_run import run_storm
from tests.test_runtime_digest_news import calls, service_for
from tests.test_runtime_digests import carried, header_count, storm, top_level


async def test_a_notification_re_sent_unchanged_posts_no_reply_and_no_edit() -> None:
    group = [StormAlert("HighErrorRate", f"api-{n:02d}", 0, None) for n in range(1, 7)]
    [first] = notifications(group)
    again = replace(first, at=first.at + 600)  # Alertmanager's repeat_interval: the same group
    run = await run_storm([first, again])

    [parent] = run.parents
    assert run.thread(parent) == []  # nothing changed: nothing to say
    assert parent.history == ()  # and the post already states the 6 alerts
    assert run.figures.slack_calls == 1
    assert run.figures.named == 6


async def test_a_small_digest_shows_a_resolve_in_its_parent_without_a_thread() -> None:
    group = [StormAlert("DiskSpaceLow", f"db-{n}", 0, None, service="db") for n in range(1, 5)]
    group[1] = replace(group[1], resolves_at=200)
    sent = notifications(group)
    assert len(sent) == 2  # 4 firing; then the whole group again, db-2 resolved
    run = await run_storm(sent)

    [parent] = run.parents
    assert not run.thread(parent)
    assert len(parent.versions) == 2  # the post, one edit
    assert parent.text.startswith("4 alerts")  # distinct alerts, not the 8 payloads
    resolved = [line for line in parent.text.split("\n") if "resolved" in line]
    assert len(resolved) == 1 and "db-2" in resolved[0]


async def test_a_reply_names_only_the_alerts_that_changed() -> None:
    group = [StormAlert("DiskSpaceLow", f"db-{n:02d}", 0, None, service="db") for n in range(12)]
    group[1] = replace(group[1], resolves_at=200)
    group[2] = replace(group[2], resolves_at=400)
    sent = notifications(group)
    assert len(sent) == 3  # 12 firing; the whole group again, db-01 resolved; then db-02
    run = await run_storm(sent)

    [parent] = run.parents
    *_, news = run.thread(parent)  # after the listing of the first 24 payloads
    assert "db-02" in news.text and "resolved" in news.text
    unchanged = [f"db-{n:02d}" for n in range(12) if n != 2]
    assert not any(name in news.text for name in unchanged)  # not repeated
    assert "now: 10 firing, 2 resolved" in parent.text


async def test_the_realistic_storm_costs_fewer_calls_than_notifications_twice() -> None:
    sent = notifications(realistic_storm())
    run = await run_storm(sent)
    figures = run.figures

    assert figures.slack_calls <= 2 * figures.notifications
    [parent] = run.parents
    assert parent.text.startswith(f"{figures.alerts} alerts")  # distinct alerts, not payloads
    assert figures.named == figures.instances
    assert figures.critical_visible_after is not None
    assert figures.critical_visible_after <= 60


async def test_flushes_within_the_reply_interval_are_one_reply(
    clock: ManualClock, slack: FakeSlack
) -> None:
    config = ServiceConfig(digest_reply_interval_seconds=60)
    service = service_for(clock, slack, config, BatchConfig(max_batch_size=5))
    async with service:
        await storm(service, range(5), every=1.0)  # the first post: the digest
        await service.advance(70)
        await storm(service, range(5, 20), every=2.0)  # 3 flushes of 5 within 30 s
        await service.advance(timedelta(minutes=40))

    [parent] = top_level(slack)
    replies = slack.replies("C1", parent.ts)
    # The first flush at once, listed in the parent (a small digest); the next two, held
    # for the interval, together: they convert it, one reply listing all 20.
    assert [r.text.split("\n")[0] for r in replies] == ["20 updates in api"]
    assert len(parent.history) == 2
    assert carried(slack, parent) == Counter(f"evt-{n:04d}" for n in range(20))
    assert header_count(parent) == 20
    assert calls(slack) <= 20


# -- the property: across a digest's replies, each alert's last word is its final state --

alert_states = st.lists(
    st.lists(st.tuples(st.integers(0, 5), st.sampled_from(["firing", "resolved"])), max_size=8),
    min_size=1,
    max_size=8,
)


def _alert(number: int, fingerprint: int, state: str) -> BatchableMessage:
    return BatchableMessage(
        id=f"m{number}",
        content_type=ContentType.ALERT,
        data={
            "alertname": "Errors",
            "instance": f"h{fingerprint}",
            "fingerprint": f"fp{fingerprint}",
            "status": state,
            "title": f"Errors on h{fingerprint}",
        },
    )


@settings(max_examples=200, deadline=None)
@given(alert_states)
def test_each_alert_is_said_once_per_reply_and_its_last_word_is_its_final_state(
    joins: list[list[tuple[int, str]]],
) -> None:
    digest: list[BatchableMessage] = []
    said: dict[str, str] = {}
    final: dict[str, str] = {}
    number = 0
    for join in joins:
        batch = []
        for fingerprint, state in join:
            batch.append(_alert(number, fingerprint, state))
            final[f"fp{fingerprint}"] = state
            number += 1
        news = news_items(digest, batch)
        keys = [m.data["fingerprint"] for m in news]
        assert len(keys) == len(set(keys))  # once per reply, in its latest state
        for message in news:
            key, state = message.data["fingerprint"], message.data["status"]
            assert said.get(key) != state  # only what changed since it was last said
            assert state == [s for f, s in join if f"fp{f}" == key][-1]
            said[key] = state
        digest += batch
    assert said == final  # every alert's last word in the thread is its final state
    assert len(said) <= len({m.data["fingerprint"] for m in digest})


# -- a lone event's post stays the one post its followers go to ---------------------------


def _event(number: int, kind: ContentType) -> BatchableMessage:
    return BatchableMessage(
        id=f"evt-{number:04d}",
        content_type=kind,
        data={"repository": "acme/api", "number": 7, "title": f"evt-{number:04d}"},
    )


async def _posted_with_leading_edge(
    clock: ManualClock, slack: FakeSlack, *waves: tuple[float, list[ContentType]]
) -> list[Counter[str]]:
    """Submit each wave's events (numbered in order) after its pause; return each post's items."""
    batching = BatchConfig(flush_leading=True, max_batch_age_minutes=1)
    service = service_for(clock, slack, ServiceConfig(), batching)
    number = 0
    async with service:
        for pause, kinds in waves:
            await service.advance(pause)
            for kind in kinds:
                await service.submit(_event(number, kind), "C1")
                number += 1
        await service.advance(timedelta(minutes=40))
    return [carried(slack, post) for post in top_level(slack)]


def _items(*numbers: int) -> Counter[str]:
    return Counter(f"evt-{n:04d}" for n in numbers)


async def test_a_batch_of_several_kinds_joins_the_digest_of_the_lone_event_before_it(
    clock: ManualClock, slack: FakeSlack
) -> None:
    posts = await _posted_with_leading_edge(
        clock,
        slack,
        (0, [ContentType.PR_UPDATE]),  # posted at once
        (5, [ContentType.PR_UPDATE, ContentType.CI_BUILD]),  # one batch, two kinds
    )
    assert posts == [_items(0, 1, 2)]


async def test_a_lone_push_joins_the_live_pull_request_digest_of_its_repository(
    clock: ManualClock, slack: FakeSlack
) -> None:
    posts = await _posted_with_leading_edge(
        clock, slack, (0, [ContentType.PR_UPDATE]), (120, [ContentType.GENERIC])
    )
    assert posts == [_items(0, 1)]  # as one window of the seed's batching would have held both


async def test_an_alert_never_joins_the_digest_of_another_kind(
    clock: ManualClock, slack: FakeSlack
) -> None:
    posts = await _posted_with_leading_edge(
        clock,
        slack,
        (0, [ContentType.PR_UPDATE]),
        (120, [ContentType.ALERT]),  # same repo
    )
    assert posts == [_items(0), _items(1)]


# -- a crash between saving the entries' plans and the digest loses nothing ---------------


def _entry(entry_id: str, message: BatchableMessage, clock: ManualClock) -> OutboxEntry:
    page = SlackMessage(text=entry_id, blocks=[], channel="C1")
    now = clock.now()
    return OutboxEntry(entry_id, "C1", entry_id, page, [message], now, now, "window")


def test_an_entry_covered_by_a_join_the_digest_never_saved_posts_its_own_pages(
    clock: ManualClock,
) -> None:
    digests = LiveDigests(MessageBatcher(clock=clock, store=MemoryStore()))
    first, companion = (_entry(f"e{n}", _alert(n, n, "firing"), clock) for n in range(2))
    record = digests.start(first, "C1\x1f*", "100.1", clock.now())  # the companion not in it
    covered = DigestPlan("C1\x1f*", record.ts, DigestStep.REPLIES, (1, 1))
    assert reply_of(digests, companion, covered, clock.now())  # its own pages: not lost
    digests.save(replace(record, entries=[*record.entries, companion.id]))
    assert not reply_of(digests, companion, covered, clock.now())  # the leader's reply has it


def test_a_reply_rendered_for_a_join_never_saved_is_not_posted_for_other_items(
    clock: ManualClock,
) -> None:
    digests = LiveDigests(MessageBatcher(clock=clock, store=MemoryStore()))
    now = clock.now()
    record = digests.start(_entry("e0", _alert(0, 0, "firing"), clock), "C1\x1f*", "1.1", now)
    lost = [_entry(f"e{n}", _alert(n, n, "firing"), clock) for n in (1, 2)]
    digests.news(digests.joined(record, lost, now), 1, 3, keep=True)  # its edit was refused
    joined = [_entry(f"e{n}", _alert(n, n, "firing"), clock) for n in (3, 4)]
    digests.save(digests.joined(record, joined, now))
    plan = DigestPlan("C1\x1f*", record.ts, DigestStep.REPLIES, (1, 3))

    assert reply_of(digests, joined[0], plan, now)
    text = joined[0].message.text
    assert "h3" in text and "h4" in text and "h1" not in text and "h2" not in text


def test_the_reply_a_join_rendered_is_the_one_its_entry_posts(clock: ManualClock) -> None:
    digests = LiveDigests(MessageBatcher(clock=clock, store=MemoryStore()))
    record = digests.start(
        _entry("e0", _alert(0, 0, "firing"), clock), "C1\x1f*", "1.1", now := clock.now()
    )
    pair = [_entry(f"e{n}", _alert(n, n, "firing"), clock) for n in (1, 2)]
    saved = digests.joined(record, pair, now)
    counted = digests.news(saved, 1, 3, keep=True)  # the join counts its pages
    digests.save(saved)
    plan = DigestPlan("C1\x1f*", record.ts, DigestStep.REPLIES, (1, 3))

    assert reply_of(digests, pair[0], plan, now)
    assert pair[0].message is counted  # rendered once
    assert "h1" in pair[0].message.text and "h2" in pair[0].message.text
