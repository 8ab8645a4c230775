"""Property: whatever the storm, its digest states each alert once, in its final state.

Random storms (alert names, instances, when each fires and resolves, a critical group) are
played as Alertmanager sends them and posted through the whole service
(:func:`~slack_batcher.testing.storm_run.run_storm`). The parent post, as it reads at the
end, must count every alert exactly once in its final state (its lines' ×N per state add up
to the alerts in that state), its header must state the number of distinct alerts, no
count anywhere (a header, a ×N) may exceed the distinct alerts, and every instance is
named in the parent or its thread.
"""

from __future__ import annotations

import asyncio
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slack_batcher.testing.alert_storm import Notification, StormAlert, notifications
from slack_batcher.testing.storm_run import run_storm

#: A line of the parent's blocks: "• :red_circle: <url|Name> — *firing (critical)* ×4 · …".
_LINE = re.compile(
    r"^• (?::\w+: )?<?(?:[^|>]*\|)?(\w+)>? — \*(firing|resolved) \(\w+\)\*(?: ×(\d+))?"
)
_TIMES = re.compile(r"(\w+) — \*?(?:firing|resolved) \(\w+\)\*? ×(\d+)")
_HEADER = re.compile(r"^(\d+) alerts?\b", re.MULTILINE)


@st.composite
def storms(draw: st.DrawFn) -> list[StormAlert]:
    """1–3 alert names on up to 8 instances each, firing and resolving within 25 minutes."""
    names = draw(
        st.lists(
            st.sampled_from(["Errors", "Latency", "Disk"]), min_size=1, max_size=3, unique=True
        )
    )
    critical = draw(st.sampled_from([None, *names]))
    storm: list[StormAlert] = []
    for name in names:
        for n in draw(st.lists(st.integers(1, 12), min_size=1, max_size=8, unique=True)):
            fires = draw(st.integers(0, 50)) * 30
            lasts = draw(st.one_of(st.none(), st.integers(1, 30).map(lambda m: m * 60)))
            severity = "critical" if name == critical else "warning"
            resolves = None if lasts is None else fires + lasts
            storm.append(StormAlert(name, f"h{n:02d}", fires, resolves, severity=severity))
    return storm


def _final_states(sent: list[Notification]) -> dict[str, str]:
    """Each alert's state in the last notification that carried it."""
    final: dict[str, str] = {}
    for notification in sent:
        for payload in notification.body["alerts"]:
            final[payload["fingerprint"]] = payload["status"]
    return final


@pytest.mark.timeout(900)
@given(storms())
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_digest_states_every_alert_once_in_its_final_state(storm: list[StormAlert]) -> None:
    sent = notifications(storm)
    run = asyncio.run(run_storm(sent))
    final = _final_states(sent)
    distinct = len(final)

    [parent] = run.parents  # a storm of 25 minutes stays in one live digest
    if parent.text.startswith("Alert: "):  # one alert: a single post, no header count
        state = re.search(r" — \[?\w*\]? ?(firing|resolved) \(", parent.text)
        assert state is not None
        lines = [f"• X — *{state.group(1)} (warning)*"]
    else:
        header = _HEADER.match(parent.text)
        assert header is not None and int(header.group(1)) == distinct
        sections = [b["text"]["text"] for b in parent.blocks if b["type"] == "section"]
        lines = [line for text in sections for line in text.splitlines()]

    by_state = {"firing": 0, "resolved": 0}
    for line in lines:
        found = _LINE.match(line)
        if found is not None:
            by_state[found.group(2)] += int(found.group(3) or 1)
    expected = {state: sum(1 for s in final.values() if s == state) for state in by_state}
    assert by_state == expected

    names = {
        a.alertname: {b.fingerprint for b in storm if b.alertname == a.alertname} for a in storm
    }
    for post in run.posts:
        for version in post.versions:
            for header in _HEADER.findall(version.text):
                assert int(header) <= distinct
            for name, times in _TIMES.findall(version.text):
                assert int(times) <= len(names[name])
    assert run.figures.named == run.figures.instances
