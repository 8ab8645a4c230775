"""Storm benchmark: what an Alertmanager storm's digest says, and what it costs in Slack calls.

Each storm is played as Alertmanager sends it (:mod:`slack_batcher.testing.alert_storm`:
group_wait 30 s, the whole group re-sent every group_interval of 5 min while it changes,
send_resolved) and posted through the whole service with the starter config
(:func:`slack_batcher.testing.storm_run.run_storm`: sources → routes → batching → live
digests → slack_sdk → FakeSlack, on a simulated clock, so the figures are exact).

Side by side with Alertmanager 0.32's own Slack receiver with ``update_message: true``
(modelled from the same notifications: one message per alert group, edited at each
notification; its final text lists the alerts of the group's last notification only).

Figures: top-level posts in the channel, Slack calls (posts + edits) against the
notifications Alertmanager sent, the alert count the top-level posts state against the
distinct alerts, the instances named in the posts and their threads, and how long after
its notification the first critical alert was visible.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from slack_batcher.testing.alert_storm import (
    Notification,
    StormAlert,
    notifications,
    realistic_storm,
)
from slack_batcher.testing.storm_run import StormFigures, run_storm


def big_storm() -> list[StormAlert]:
    """Six groups on 40 hosts each (240 alerts), waves of resolves, a critical group mid-way."""
    storm: list[StormAlert] = []
    names = ("HighErrorRate", "HighLatency", "ConnectionPoolExhausted", "PodCrashLooping")
    for g, name in enumerate(names):
        for n in range(40):
            fires = g * 45 + n * 7
            storm.append(StormAlert(name, f"api-{n:02d}", fires, 900 + (n % 4) * 300))
    for n in range(40):
        storm.append(StormAlert("DiskSpaceLow", f"db-{n:02d}", 60 + n * 11, None, service="db"))
    for n in range(40):
        storm.append(StormAlert("InstanceDown", f"api-{n:02d}", 600, 1200, severity="critical"))
    return storm


def update_message_model(sent: Sequence[Notification]) -> dict[str, object]:
    """Alertmanager 0.32 ``update_message``: one post per group, edited per notification."""
    last: dict[str, Notification] = {}
    for notification in sent:
        last[notification.group_key] = notification
    named = {a.instance for n in last.values() for a in n.alerts}
    alerts = {a.fingerprint for n in sent for a in n.alerts}
    return {
        "top-level posts": len(last),
        "Slack calls": len(sent),
        "stated vs distinct alerts": f"per group, last notification / {len(alerts)}",
        "instances named": len(named),
    }


def _row(figures: StormFigures) -> dict[str, object]:
    critical = figures.critical_visible_after
    return {
        "top-level posts": figures.top_level_posts,
        "Slack calls": f"{figures.slack_calls} ({figures.replies} replies, {figures.edits} edits)",
        "stated vs distinct alerts": f"{sum(figures.stated)} / {figures.alerts}",
        "instances named": f"{figures.named} / {figures.instances}",
        "critical visible after": "—" if critical is None else f"{critical:.0f} s",
    }


def main() -> None:
    """Run each storm through the service and print the figures side by side."""
    for title, storm in (
        ("issue 18's storm (37 alerts, 4 groups)", realistic_storm()),
        ("a big storm (240 alerts, 6 groups)", big_storm()),
    ):
        sent = notifications(storm)
        figures = asyncio.run(run_storm(sent)).figures
        ours, theirs = _row(figures), update_message_model(sent)
        print(f"\n{title}: {len(sent)} notifications, {figures.alerts} distinct alerts")
        print(f"  {'':28} {'slack-batcher (starter config)':>34} {'AM 0.32 update_message':>32}")
        for name, value in ours.items():
            print(f"  {name:28} {value!s:>34} {theirs.get(name, '—')!s:>32}")


if __name__ == "__main__":
    main()
