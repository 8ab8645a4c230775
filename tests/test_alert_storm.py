"""What a storm's digest says, through the whole service: sources → routes → batcher →
runtime live digests → slack_sdk → FakeSlack, with the starter config, on a ManualClock.

Alertmanager's behaviour is played by :mod:`slack_batcher.testing.alert_storm`: group_wait,
the whole group re-sent at each group_interval while it changes, send_resolved.
"""

from __future__ import annotations

import re

from slack_batcher.testing.alert_storm import StormAlert, notifications, realistic_storm
from slack_batcher.testing.storm_run import run_storm


def _header(text: str) -> int:
    found = re.match(r"(\d+) ", text)
    assert found is not None, text
    return int(found.group(1))


async def test_the_realistic_storm_is_one_post_stating_the_true_count_naming_every_host() -> None:
    sent = notifications(realistic_storm())
    run = await run_storm(sent)
    figures = run.figures

    assert (figures.notifications, figures.alerts, figures.instances) == (12, 37, 34)
    assert figures.top_level_posts <= 3
    assert figures.slack_calls <= 2 * figures.notifications
    assert sum(figures.stated) == figures.alerts  # "37 alerts", not 72
    assert figures.named == figures.instances  # every host in the parent or its thread
    assert figures.critical_visible_after is not None
    assert figures.critical_visible_after <= 60
    [parent] = run.parents
    assert "now: 35 resolved, 2 firing" in parent.text


async def test_a_resolve_notification_updates_each_alert_in_place_and_counts_it_once() -> None:
    group = [StormAlert("HighErrorRate", f"api-{n:02d}", n, 600) for n in range(1, 31)]
    run = await run_storm(notifications(group))

    assert run.figures.notifications == 2  # the firing group, then the resolved group
    [parent] = run.parents
    assert _header(parent.text) == 30
    assert "now: 30 resolved" in parent.text
    assert "firing → resolved" in parent.text
    assert "×30" in parent.text


async def test_one_notification_is_one_thread_update_however_many_alerts_it_carries() -> None:
    group = [StormAlert("HighErrorRate", f"api-{n:02d}", 0, 900) for n in range(1, 31)]
    group.append(StormAlert("HighErrorRate", "api-31", 200, 900))
    run = await run_storm(notifications(group))

    assert run.figures.notifications == 3  # 30 firing; +1 at group_interval; all resolved
    [parent] = run.parents
    thread = run.thread(parent)
    # The first notification is the parent's own post, later re-posted in the thread; each
    # later notification adds one reply and one edit: no partial states of five alerts.
    assert len(thread) <= 1 + 2
    assert run.figures.slack_calls <= 2 * run.figures.notifications
    assert all(not re.search(r"\b(5|10|15|20|25) alerts\b", v.text) for v in parent.versions)
    assert [_header(v.text) for v in parent.versions][-1] == 31


async def test_re_sent_firing_alerts_are_not_counted_again() -> None:
    # A group growing by one alert each interval: Alertmanager re-sends every alert each time.
    group = [StormAlert("DiskSpaceLow", f"db-{n}", n * 300, None, service="db") for n in range(4)]
    run = await run_storm(notifications(group))

    assert run.figures.notifications == 4  # 1, 2, 3, 4 alerts: 10 alert payloads in all
    [parent] = run.parents
    assert _header(parent.text) == 4
    assert "firing (warning) ×4" in parent.text  # a small digest: its parent lists them
    assert not run.thread(parent)
    assert run.figures.named == 4


async def test_a_critical_in_the_middle_of_a_storm_is_visible_within_a_minute() -> None:
    storm = [StormAlert("HighLatency", f"api-{n:02d}", n * 20, None) for n in range(1, 13)]
    storm += [StormAlert("InstanceDown", "api-05", 400, None, severity="critical")]
    run = await run_storm(notifications(storm))

    after = run.figures.critical_visible_after
    assert after is not None and after <= 60
    critical = [p for p in run.posts if "InstanceDown" in p.text and p.is_reply]
    assert critical and all(p.is_broadcast for p in critical)
    assert "api-05" in critical[0].text
