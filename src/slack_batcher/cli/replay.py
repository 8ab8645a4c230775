"""``slack-batcher replay DELIVERIES.jsonl --config CFG``: try a config on recorded traffic.

The deliveries (JSON lines, as ``serve --record`` writes them or as docs/replay.md
describes) run through the configuration's whole pipeline on a simulated clock
(:mod:`slack_batcher.demo.replay`); the command prints per channel the events, top-level
posts, thread replies, edits, Slack calls and time to first visible, or ``--json`` the
same as one JSON object. A sender that would reach a real workspace is refused unless
``--allow-real-slack`` is given.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.progress import Progress

from ..model.errors import ConfigError
from .output import EXIT_REFUSED, EXIT_USAGE, config_option, err, fail, out, print_table

if TYPE_CHECKING:
    from ..delivery.base import Sender
    from ..demo.report import ReplayReport
    from ..http.settings import ServiceSettings
    from ..model.clock import Clock

__all__ = ["register", "replay"]


#: The setting that enables each source.
_KEY = {"github": "SECRET", "jira": "SECRET", "alertmanager": "TOKEN"}


def _parse_start(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not an ISO 8601 time: {value!r}", param_hint="--start") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.0f} s" if value < 120 else f"{value / 60:.1f} min"


@click.command()
@click.argument(
    "deliveries_file",
    metavar="DELIVERIES.jsonl",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
)
@config_option("TOML configuration to try (its sources, routes, batching, store, sender).")
@click.option(
    "--start",
    help="Simulated time of at = 0, ISO 8601 (default: when a recorded file began, else "
    "the current hour), UTC unless it says otherwise.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
@click.option(
    "--allow-real-slack",
    is_flag=True,
    help="Post to the configured Slack workspace or webhook for real (refused otherwise).",
)
def replay(
    deliveries_file: Path,
    config_path: Path | None,
    start: str | None,
    as_json: bool,
    allow_real_slack: bool,
) -> None:
    """Replay webhook deliveries through a configuration on a simulated clock; print figures.

    Every delivery is signed with the configured secret and posted to the source endpoint
    in process; the clock then runs until nothing is pending. The store is the configured
    kind in a scratch place (never the service's own file or keys).
    """
    from ..demo.data import load_deliveries
    from ..demo.replay import default_start, real_slack_refusal, run_replay
    from ..demo.report import replay_report
    from ..http.settings import load_settings

    moment = _parse_start(start)
    try:
        deliveries = load_deliveries(deliveries_file)
        settings = load_settings(config_path)
    except (ValueError, ConfigError) as exc:
        problems = exc.problems if isinstance(exc, ConfigError) else [str(exc)]
        fail("; ".join(problems), EXIT_USAGE)
    refusal = real_slack_refusal(settings)
    if refusal is not None and not allow_real_slack:
        fail(f"not replaying: {refusal}", EXIT_USAGE)
    missing = sorted(
        {d.source for d in deliveries} - set(settings.sources.enabled()),
    )
    if missing:
        err.print(
            f"warning: no secret configured for {', '.join(missing)}: the service refuses "
            "those deliveries (404); set "
            + ", ".join(f"SLACK_BATCHER_SOURCES__{m.upper()}__{_KEY[m]}" for m in missing),
            markup=False,
        )
    moment = moment or default_start(deliveries, datetime.now(UTC))
    with Progress(console=err, transient=True, disable=as_json) as progress:
        task = progress.add_task("replaying deliveries", total=len(deliveries))
        try:
            run = run_replay(
                deliveries,
                settings,
                start=moment,
                sender=lambda clock: _sender(settings, clock, as_json),
                progress=lambda done: progress.update(task, completed=done),
            )
        except ConfigError as exc:
            fail("; ".join(exc.problems), EXIT_USAGE)
    report = replay_report(run)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _print_report(report, deliveries_file)
    if report.pending:
        fail(f"{report.pending} messages still pending after the replay", EXIT_REFUSED)


def _sender(settings: ServiceSettings, clock: Clock, as_json: bool) -> Sender:
    """Build the configured sender; a console dry run prints to stderr under ``--json``."""
    from ..http.server import build_sender

    if as_json and settings.sender.resolved_kind() == "console":
        from ..delivery.console import ConsoleSender

        return ConsoleSender(sys.stderr, clock=clock)
    return build_sender(settings.sender, clock=clock)


def _print_report(report: ReplayReport, source: Path) -> None:
    delivered = ", ".join(f"{name} {count}" for name, count in report.deliveries.items())
    answers = ", ".join(f"{count} {name}" for name, count in report.answers.items())
    out.print(
        f"{sum(report.deliveries.values())} deliveries from {source.name} ({delivered}): "
        f"{answers}; simulated {report.start:%Y-%m-%d %H:%M} – {report.end:%Y-%m-%d %H:%M} UTC",
        markup=False,
        soft_wrap=True,
    )
    columns = [
        ("channel", "id"),
        ("events", "short"),
        ("posts", "short"),
        ("replies", "short"),
        ("edits", "short"),
        ("calls", "short"),
        ("p50", "short"),
        ("max", "short"),
    ]
    rows = [
        [
            row.channel,
            str(row.events),
            str(row.top_level_posts),
            str(row.replies),
            str(row.edits),
            str(row.slack_calls),
            _seconds(row.wait("p50")),
            _seconds(row.wait("max")),
        ]
        for row in [*report.channels, report.total]
    ]
    print_table("Replay per channel", columns, rows)
    out.print(
        "posts: top-level posts; calls: Slack calls (posts + replies + edits); p50, max: "
        "time from an event's arrival to the first post, reply or edit showing it",
        markup=False,
        soft_wrap=True,
    )
    total = report.total
    out.print(
        f"average time to first visible: {_seconds(total.wait('mean'))}; "
        f"Slack calls per event: {total.slack_calls / total.events:.2f}"
        if total.events
        else "no events were routed to a channel",
        markup=False,
    )
    for refusal in report.refused[:10]:
        err.print(f"  {refusal}", markup=False, soft_wrap=True)
    if len(report.refused) > 10:
        err.print(f"  … and {len(report.refused) - 10} more refused", markup=False)
    if total.not_shown or report.dead_letters:
        out.print(
            f"{total.not_shown} events never shown in a post or reply "
            f"({report.dead_letters} dead-lettered)",
            markup=False,
        )


def register(main: click.Group) -> None:
    """Add ``replay`` to *main*."""
    main.add_command(replay)
