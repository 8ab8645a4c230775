"""A live digest's running summary reads exactly as the summary rendered from all its items."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slack_batcher import BatchableMessage, ContentType, FormatOptions
from slack_batcher.formatting.digest_state import DigestState
from slack_batcher.formatting.digest_summary import format_digest_summary
from tests.factories import T0

PRIORITIES = st.sampled_from(["critical", "high", "medium", "low"])
MINUTES = st.integers(0, 15)  # few distinct times: ties and items arriving out of order
PLACES = st.sampled_from(["h1", "h2", "h3", "H1", ""])


def _message(
    i: int, kind: ContentType, minute: int, priority: str, author: str | None, data: dict[str, Any]
) -> BatchableMessage:
    return BatchableMessage(
        id=f"m{i}",
        content_type=kind,
        timestamp=T0 + timedelta(minutes=minute),
        priority=priority,
        author=author,
        data=data,
    )


@st.composite
def _data(draw: st.DrawFn, kind: ContentType) -> dict[str, Any]:
    """Data for one event of *kind*: few entities and states, so lifecycles and repeats occur."""
    if kind is ContentType.ALERT:
        data: dict[str, Any] = {
            "alertname": draw(st.sampled_from(["HighErrorRate", "DiskSpaceLow", "<@U1> x"])),
            "service": draw(st.sampled_from(["api", "db", ""])),
            "severity": draw(st.sampled_from(["warning", "critical"])),
            "status": draw(st.sampled_from(["firing", "firing", "resolved"])),
        }
        place = draw(PLACES)
        if place:
            data["instance"] = place
        if draw(st.booleans()):  # a row shows its newest entity's link: which one must match
            data["url"] = f"https://alerts.example.com/{data['service']}/{place}"
        if draw(st.booleans()):
            data["fingerprint"] = draw(st.sampled_from(["f1", "f2"]))
        if draw(st.booleans()):  # a summary annotation: a collapsed line shows what they share
            data["description"] = draw(
                st.sampled_from(["5xx above 5% on h1", "5xx above 5% on h2", "Disk <full>", " "])
            )
        return data
    if kind is ContentType.PR_UPDATE:
        return {
            "repository": draw(st.sampled_from(["acme/api", "acme/API", "acme/web"])),
            "number": draw(st.integers(1, 3)),
            "title": draw(st.sampled_from(["Fix it", "Add it"])),
            "action": draw(st.sampled_from(["opened", "synchronize", "closed", "merged"])),
        }
    if kind is ContentType.JIRA_UPDATE:
        return {
            "key": draw(st.sampled_from(["OPS-1", "OPS-2"])),
            "summary": "Broken",
            "project": "OPS",
            "status": draw(st.sampled_from(["To Do", "In Progress", "Done"])),
            "previous_status": draw(st.sampled_from(["", "Backlog", "To Do"])),
        }
    if kind is ContentType.DEPLOYMENT:
        return {
            "service": draw(st.sampled_from(["api", "web"])),
            "version": draw(st.sampled_from(["1.0", "1.1"])),
            "environment": draw(st.sampled_from(["prod", "staging"])),
            "status": draw(st.sampled_from(["started", "succeeded", "failed"])),
        }
    return {"text": draw(st.sampled_from(["hello", "build broke"])), "team": "core"}


@st.composite
def items(draw: st.DrawFn) -> list[BatchableMessage]:
    """A digest's items in arrival order: alerts, PRs, JIRA tickets, deploys, plain events."""
    kinds = st.sampled_from(
        [
            ContentType.ALERT,
            ContentType.ALERT,
            ContentType.PR_UPDATE,
            ContentType.JIRA_UPDATE,
            ContentType.DEPLOYMENT,
            ContentType.GENERIC,
        ]
    )
    only = draw(st.one_of(st.none(), kinds))  # often a digest of one kind (an alert storm)
    count = draw(st.integers(1, 45))
    messages = []
    for i in range(count):
        kind = only or draw(kinds)
        messages.append(
            _message(
                i,
                kind,
                draw(MINUTES),
                draw(PRIORITIES),
                draw(st.sampled_from(["alice", "bob", None])),
                draw(_data(kind)),
            )
        )
    return messages


@st.composite
def batches(draw: st.DrawFn) -> list[list[BatchableMessage]]:
    """The items cut into the batches they were flushed in."""
    messages = draw(items())
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(messages) - 1)), max_size=12)))
    bounds = [0, *[c for c in cuts if c < len(messages)], len(messages)]
    return [messages[a:b] for a, b in pairwise(bounds) if a < b]


def reference(messages: list[BatchableMessage], **kwargs: Any) -> Any:
    """The summary rendered from every item, as a digest re-rendered it at each flush."""
    return format_digest_summary(sorted(messages, key=lambda m: m.timestamp), **kwargs).to_dict()


@given(
    batches(),
    st.integers(1, 12),
    st.integers(0, 30),
    st.booleans(),
    st.booleans(),
)
@settings(max_examples=400, deadline=None)
def test_folding_batches_one_by_one_renders_what_rendering_every_item_renders(
    parts: list[list[BatchableMessage]], max_rows: int, replies: int, by_scope: bool, compact: bool
) -> None:
    options = FormatOptions(compact=compact)
    state = DigestState(options)
    seen: list[BatchableMessage] = []
    for batch in parts:
        state.fold(batch)
        seen.extend(batch)
        kwargs: dict[str, Any] = {"replies": replies, "by_scope": by_scope, "max_rows": max_rows}
        folded = state.render(channel="C1", **kwargs)
        assert folded.to_dict() == reference(seen, options=options, channel="C1", **kwargs)


def test_an_alert_storm_that_resolves_reads_the_same_folded_or_rendered_at_once() -> None:
    def alert(i: int, host: str, status: str, minute: int) -> BatchableMessage:
        data = {"alertname": "HighErrorRate", "service": "api", "severity": "warning"}
        data |= {"status": status, "instance": host}
        return _message(i, ContentType.ALERT, minute, "high", None, data)

    firing = [alert(i, f"host-{i:02}", "firing", i % 7) for i in range(40)]
    resolved = [alert(100 + i, f"host-{i:02}", "resolved", 10 + i % 5) for i in range(0, 40, 3)]
    state = DigestState()
    for start in range(0, len(firing + resolved), 5):
        state.fold((firing + resolved)[start : start + 5])

    summary = state.render(replies=3)

    assert summary.to_dict() == reference(firing + resolved, replies=3)
    resolved_line, firing_line = summary.blocks[2]["text"]["text"].splitlines()
    assert resolved_line.startswith("• :large_orange_circle: HighErrorRate — *resolved (warning)*")
    assert "×14" in resolved_line
    assert "firing → resolved after 14 min" in resolved_line
    assert firing_line.startswith("• :large_orange_circle: HighErrorRate — *firing (warning)* ×26")


def test_an_empty_state_has_no_summary() -> None:
    with pytest.raises(ValueError, match="at least one item"):
        DigestState().render()
