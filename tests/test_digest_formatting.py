"""Collapsed repeats, lifecycle merges and the live digest's summary, as users read them."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from slack_batcher import BatchableMessage, ContentType, FormatOptions, validate_message
from slack_batcher.formatting.collapse import Row, collapse_rows, row_lines
from slack_batcher.formatting.digest_summary import format_digest_summary, summary_rows
from slack_batcher.formatting.items import DEFAULT_ITEM_FORMATTERS
from slack_batcher.formatting.lifecycle import lifecycle_rows
from tests.factories import T0

OPTIONS = FormatOptions()


def at(minute: float) -> Any:
    return T0 + timedelta(minutes=minute)


def alert(
    id: str,
    name: str = "HighErrorRate",
    *,
    instance: str = "host-01",
    status: str = "firing",
    minute: float = 0,
    priority: str = "high",
    service: str = "api",
) -> BatchableMessage:
    return BatchableMessage(
        id=id,
        content_type=ContentType.ALERT,
        timestamp=at(minute),
        priority=priority,
        data={
            "alertname": name,
            "service": service,
            "severity": "warning",
            "status": status,
            "instance": instance,
        },
    )


def event(message: BatchableMessage) -> tuple[BatchableMessage, Any]:
    return message, DEFAULT_ITEM_FORMATTERS[message.content_type](message, OPTIONS)


def lines(messages: list[BatchableMessage], options: FormatOptions = OPTIONS) -> list[str]:
    rows = collapse_rows(lifecycle_rows(event(m) for m in messages))
    return [row_lines(row, options)[0] for row in rows]


# -- collapse ---------------------------------------------------------------------------------


def test_four_identical_alerts_on_four_hosts_become_one_line_with_the_hosts_and_span() -> None:
    storm = [
        alert("a1", instance="host-01", minute=0),
        alert("a2", instance="host-07", minute=1),
        alert("a3", instance="host-03", minute=1.5),
        alert("a4", instance="host-04", minute=2),
    ]

    assert lines(storm) == [
        "• :large_orange_circle: HighErrorRate — *firing (warning)* ×4"
        " · host-01, host-07, host-03, host-04 · 09:00–09:02"
    ]


def test_a_parent_line_names_four_hosts_then_counts_the_rest() -> None:
    storm = [alert(f"a{i}", instance=f"api-{i:02d}", minute=i / 10) for i in range(1, 25)]

    [line] = lines(storm)

    assert "×24 · api-01, api-02, api-03, api-04, +20 · " in line


def test_a_re_sent_alert_counts_once_on_its_collapsed_line() -> None:
    # Alertmanager re-sends a firing alert at each group_interval: one alert, not three.
    storm = [alert(f"a{i}-{n}", instance=f"h{i}", minute=n * 5) for i in range(3) for n in range(3)]

    [line] = lines(storm)

    assert "×3 · h0, h1, h2" in line


def test_lines_that_differ_in_status_or_title_are_not_collapsed() -> None:
    assert len(lines([alert("a1"), alert("a2", "DiskFull", instance="h2")])) == 2
    assert len(lines([alert("a1"), alert("a2", instance="h2", status="resolved")])) == 2


def test_a_single_event_renders_exactly_as_a_digest_item_line() -> None:
    [line] = lines([alert("a1", minute=3)])

    # An alert has no author: its instance stands in the author's place.
    assert line == "• :large_orange_circle: HighErrorRate — *firing (warning)* · host-01 · 09:03"


def test_collapsed_user_text_is_escaped() -> None:
    storm = [alert(f"a{i}", "<!channel> @here", instance=f"<h{i}>") for i in range(3)]

    [line] = lines(storm)

    assert "<!channel>" not in line and "<h0>" not in line
    assert "&lt;h0&gt;" in line


# -- lifecycle ----------------------------------------------------------------------------------


def test_an_alert_that_fired_and_resolved_is_one_line_with_its_path_and_duration() -> None:
    fired = alert("a1", "DiskSpaceLow", minute=10)
    resolved = alert("a2", "DiskSpaceLow", status="resolved", minute=13, priority="low")

    assert lines([fired, resolved]) == [
        "• DiskSpaceLow — *resolved (warning)* · firing → resolved after 3 min"
        " · host-01 · 09:10–09:13"
    ]


def deploy(id: str, status: str, minute: float) -> BatchableMessage:
    data = {"service": "api", "version": "1.4.2", "environment": "prod", "status": status}
    return BatchableMessage(
        id=id, content_type=ContentType.DEPLOYMENT, timestamp=at(minute), data=data
    )


def test_a_deploy_started_then_succeeded_shows_its_latest_state_and_the_path() -> None:
    [line] = lines([deploy("d1", "started", 0), deploy("d2", "succeeded", 4)])

    assert line == (
        "• api 1.4.2 to prod — *succeeded* · started → succeeded after 4 min · 09:00–09:04"
    )


def test_a_pull_request_opened_then_merged_is_one_line() -> None:
    def pr(id: str, action: str, minute: float) -> BatchableMessage:
        data = {"repository": "acme/api", "number": 42, "title": "Add auth", "action": action}
        return BatchableMessage(
            id=id, content_type=ContentType.PR_UPDATE, timestamp=at(minute), data=data
        )

    [line] = lines([pr("p1", "opened", 0), pr("p2", "review_requested", 1), pr("p3", "merged", 9)])

    assert "#42 Add auth — *merged*" in line
    assert "opened → review requested → merged after 9 min" in line


def test_a_jira_ticket_shows_its_whole_path_from_the_first_previous_status() -> None:
    def ticket(id: str, previous: str, status: str, minute: float) -> BatchableMessage:
        data = {"key": "API-7", "summary": "Token refresh", "project": "acme"}
        data |= {"previous_status": previous, "status": status}
        return BatchableMessage(
            id=id, content_type=ContentType.JIRA_UPDATE, timestamp=at(minute), data=data
        )

    [line] = lines(
        [ticket("j1", "To Do", "In Progress", 0), ticket("j2", "In Progress", "Done", 30)]
    )

    assert "API-7 Token refresh — *Done* · To Do → In Progress → Done after 30 min" in line


def test_events_arriving_out_of_order_merge_in_the_order_they_happened() -> None:
    resolved = alert("a2", status="resolved", minute=5, priority="low")
    fired = alert("a1", minute=1)

    [row] = lifecycle_rows([event(resolved), event(fired)])

    assert row.path == ("firing", "resolved")
    assert [m.id for m in row.messages] == ["a1", "a2"]


def test_alerts_on_different_instances_are_different_entities() -> None:
    rows = lifecycle_rows(
        [event(alert("a1", instance="h1")), event(alert("a2", instance="h2", status="resolved"))]
    )

    assert [row.path for row in rows] == [(), ()]


# -- properties ---------------------------------------------------------------------------------

NAMES = st.sampled_from(["HighErrorRate", "DiskSpaceLow", "<@U123> x"])
alerts = st.lists(
    st.builds(
        lambda i, name, host, status, minute, priority: alert(
            f"a{i}", name, instance=host, status=status, minute=minute, priority=priority
        ),
        st.integers(0, 10**6),
        NAMES,
        st.sampled_from(["h1", "h2", "h3"]),
        st.sampled_from(["firing", "resolved"]),
        st.integers(0, 90),
        st.sampled_from(["critical", "high", "low"]),
    ),
    min_size=1,
    max_size=60,
    unique_by=lambda m: m.id,
)


@given(alerts)
@settings(max_examples=80, deadline=None)
def test_merging_and_collapsing_keep_every_event_exactly_once(
    messages: list[BatchableMessage],
) -> None:
    entities = lifecycle_rows(event(m) for m in messages)
    rows = collapse_rows(entities)

    for layer in (entities, rows):
        ids = Counter(m.id for row in layer for m in row.messages)
        assert ids == Counter(m.id for m in messages)
    assert sum(row.times for row in rows) == sum(row.times for row in entities)


@given(alerts, st.integers(1, 12), st.integers(0, 40), st.booleans())
@settings(max_examples=80, deadline=None)
def test_a_summary_counts_every_item_and_fits_slacks_limits(
    messages: list[BatchableMessage], max_rows: int, replies: int, by_scope: bool
) -> None:
    summary = format_digest_summary(messages, replies=replies, max_rows=max_rows, by_scope=by_scope)
    _, rows, _ = summary_rows(messages, OPTIONS)

    assert validate_message(summary) == []
    header = summary.blocks[0]["text"]["text"]
    distinct = len({(m.data["alertname"], m.data["instance"]) for m in messages})
    assert header.startswith(f"{distinct} alert")  # alerts, not notifications
    shown = min(max_rows, len(rows))
    hidden = sum(row.times for row in rows[shown:])
    tail = summary.blocks[-1]
    if hidden:
        assert tail["elements"][0]["text"] == f"…{hidden} more in thread"
    else:
        assert tail["type"] == "section"
    assert "<@U123>" not in str(summary.blocks) and "<@U123>" not in summary.text


def test_the_summary_puts_the_most_urgent_rows_first_and_counts_states_per_entity() -> None:
    messages = [
        alert("a1", "Disk", instance="h1", minute=0),
        alert("a2", "Disk", instance="h1", status="resolved", minute=3, priority="low"),
        alert("a3", "Lag", instance="db", minute=4, priority="critical"),
        alert("a4", "Errors", instance="h2", minute=5),
    ]

    summary = format_digest_summary(messages, replies=2)

    assert summary.blocks[0]["text"]["text"] == "3 alerts in api"  # Disk fired, resolved: one
    context = summary.blocks[1]["elements"][0]["text"]
    assert context == "now: 2 firing, 1 resolved · Mar 2, 09:00–09:05 UTC · 2 replies in thread"
    section = summary.blocks[2]["text"]["text"].splitlines()
    assert [line.split(" — ")[0] for line in section] == [
        "• :red_circle: Lag",
        "• :large_orange_circle: Errors",
        "• Disk",
    ]
    assert summary.metadata["message_count"] == 4
    assert "message_ids" not in summary.metadata


def test_a_channel_wide_summary_groups_rows_under_their_scope() -> None:
    messages = [
        alert("a1", "Errors", service="api"),
        alert("a2", "Lag", service="db", priority="critical"),
        alert("a3", "Slow", service="api", minute=1),
    ]

    summary = format_digest_summary(messages, by_scope=True)

    texts = [b["text"]["text"] for b in summary.blocks if b["type"] == "section"]
    assert [t.splitlines()[0] for t in texts] == ["*db*", "*api*"]
    assert summary.blocks[0]["text"]["text"] == "3 alerts"


def test_rows_hold_what_they_cover() -> None:
    row = Row((alert("a1"),), DEFAULT_ITEM_FORMATTERS[ContentType.ALERT](alert("a1"), OPTIONS))

    assert (row.times, row.latest.id, row.priority_score) == (1, "a1", 75)


# -- folding in every digest post ---------------------------------------------------------------


def post_of(messages: list[BatchableMessage], **options: Any) -> Any:
    from slack_batcher import BatchGroup, BatchType, SlackMessageFormatterFactory

    batch = BatchGroup(
        id="b1",
        channel_id="C1",
        batch_type=BatchType.ALERT_DIGEST,
        created_at=T0,
        expires_at=at(5),
        messages=messages,
    )
    return SlackMessageFormatterFactory(FormatOptions(**options)).format(batch)


def test_a_post_shows_four_identical_alerts_as_one_line_and_keeps_every_id() -> None:
    storm = [alert(f"a{i}", instance=f"host-0{i}", minute=i / 2) for i in range(1, 5)]

    post = post_of([*storm, alert("d1", "DiskFull", instance="h9", minute=2)])

    lines = [
        line
        for b in post.blocks
        if b["type"] == "section"
        for line in b["text"]["text"].split("\n")
    ]
    assert lines == [  # a post (a thread reply) names every host
        "• :large_orange_circle: HighErrorRate — *firing (warning)* ×4"
        " · host-01, host-02, host-03, host-04 · 09:00–09:02",
        "• :large_orange_circle: DiskFull — *firing (warning)* · h9 · 09:02",
    ]
    assert post.blocks[0]["text"]["text"] == "5 alerts in api"
    assert sorted(post.metadata["message_ids"]) == ["a1", "a2", "a3", "a4", "d1"]


def test_folding_can_be_turned_off_for_one_line_per_event() -> None:
    storm = [alert(f"a{i}", instance=f"host-0{i}") for i in range(4)]

    post = post_of(storm, fold_repeats=False)

    assert (
        sum(b["text"]["text"].count("\n") + 1 for b in post.blocks if b["type"] == "section") == 4
    )


@given(alerts, st.booleans())
@settings(max_examples=60, deadline=None)
def test_a_folded_post_still_carries_every_event_once(
    messages: list[BatchableMessage], compact: bool
) -> None:
    post = post_of(messages, compact=compact)

    ids = [i for page in post.pages for i in page.metadata.get("message_ids", [])]
    assert Counter(ids) == Counter(m.id for m in messages)
    assert validate_message(post) == []
