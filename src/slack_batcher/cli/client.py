"""Commands that talk to a running server: send, flush, inspect, stats, dead-letters.

Registered on the main command by :func:`register` (one line in ``cli.py``). Each takes
``--url`` (``$SLACK_BATCHER_URL``) and ``--token`` (``$SLACK_BATCHER_API_TOKEN``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.progress import Progress
from rich.table import Table
from rich.text import Text

from .output import (
    DEFAULT_CONFIG,
    EXIT_AUTH,
    EXIT_REFUSED,
    EXIT_UNHEALTHY,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    cells,
    counted,
    err,
    fail,
    fail_config,
    find_config,
    json_rows,
    out,
    print_table,
)

__all__ = ["DEFAULT_URL", "register"]

DEFAULT_URL = "http://127.0.0.1:8787"


def _client_options(command: Any) -> Any:
    command = click.option(
        "--token",
        envvar="SLACK_BATCHER_API_TOKEN",
        callback=_token_default,
        help="API token (default: $SLACK_BATCHER_API_TOKEN, else the config's server.api_token).",
        show_envvar=True,
    )(command)
    command = click.option(
        "--url",
        envvar="SLACK_BATCHER_URL",
        callback=_url_default,
        show_envvar=True,
        help="Base URL of a running slack-batcher server (default: the [server] host and port "
        f"of the configuration, else {DEFAULT_URL}).",
    )(command)
    return click.option(
        "--config",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="SLACK_BATCHER_CONFIG",
        show_envvar=True,
        is_eager=True,
        expose_value=False,
        callback=_remember_config,
        help=f"The server's TOML configuration (default: ./{DEFAULT_CONFIG} when it exists).",
    )(command)


def _remember_config(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    ctx.meta["slack_batcher.config"] = find_config(value)


def _settings(ctx: click.Context) -> Any:
    """Return the configuration's settings (None without a file); refuse a bad file."""
    if "slack_batcher.settings" not in ctx.meta:
        path = ctx.meta.get("slack_batcher.config")
        settings = None
        if path is not None:
            from ..http.settings import load_settings
            from ..model.errors import ConfigError

            try:
                settings = load_settings(path)
            except ConfigError as exc:
                fail_config(exc.problems, path)
        ctx.meta["slack_batcher.settings"] = settings
    return ctx.meta["slack_batcher.settings"]


def _url_default(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    if value:
        return value
    settings = _settings(ctx)
    if settings is None:
        return DEFAULT_URL
    host = settings.server.host
    if host in ("0.0.0.0", "::", ""):  # every address: this machine's loopback answers
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.server.port}"


def _token_default(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value:
        return value
    settings = _settings(ctx)
    return settings.server.token() if settings is not None else None


def _call(url: str, token: str | None, action: Any) -> Any:
    """Run *action(client)*, turning HTTP failures into messages and exit codes."""
    from ..http.client import ApiError, ServiceClient, Unreachable

    try:
        with ServiceClient(url, token) as client:
            return action(client)
    except Unreachable as exc:
        fail(str(exc), EXIT_UNREACHABLE)
    except ApiError as exc:
        if exc.status == 401:
            fail(f"the server refused the API token: {exc.detail}", EXIT_AUTH)
        for problem in exc.errors:
            err.print(
                f"  {problem.get('field')}: {problem.get('message')}", markup=False, soft_wrap=True
            )
        code = EXIT_USAGE if exc.status in (400, 413, 422) else EXIT_REFUSED
        fail(f"HTTP {exc.status}: {exc.detail}", code)


def _print_json(value: Any) -> None:
    out.print_json(json.dumps(value, default=str))


@click.command()
@_client_options
@click.option(
    "--channel",
    help="Slack channel id or name (with --file: of events that name none); "
    "default: the server's [[routes]] pick it.",
)
@click.option(
    "--type",
    "content_type",
    default="generic",
    show_default=True,
    help="Content type: pr_update, jira_update, alert, ci_build, deployment, …",
)
@click.option("--id", "event_id", help="Event id (default: a random one).")
@click.option("--author", help="Who caused the event.")
@click.option("--priority", default="medium", show_default=True)
@click.option("--title", help="Shortcut for data.title.")
@click.option("--data", "data_json", help="Event data as a JSON object.")
@click.option(
    "--file",
    "events_file",
    type=click.File("r"),
    help="Send events from a JSON file (object or list) or JSON lines; '-' reads stdin.",
)
def send(
    url: str,
    token: str | None,
    channel: str | None,
    content_type: str,
    event_id: str | None,
    author: str | None,
    priority: str,
    title: str | None,
    data_json: str | None,
    events_file: Any,
) -> None:
    """Post one event (or a file of events) to a running server."""
    if events_file is not None:
        events = _read_events(events_file.read(), channel)
    else:
        import secrets

        try:
            data = json.loads(data_json) if data_json else {}
        except ValueError as exc:
            fail(f"--data is not valid JSON: {exc}", EXIT_USAGE)
        if not isinstance(data, dict):
            fail("--data must be a JSON object", EXIT_USAGE)
        if title:
            data["title"] = title
        event = {
            "id": event_id or f"cli-{secrets.token_hex(6)}",
            "content_type": content_type,
            "priority": priority,
            "data": data,
        }
        if author:
            event["author"] = author
        if channel:  # else the server's [[routes]] pick it (400 naming channel without any)
            event["channel"] = channel
        events = [event]
    results: list[dict[str, Any]] = []
    with Progress(console=err, transient=True, disable=len(events) < 200) as progress:
        task = progress.add_task("sending", total=len(events))
        for start in range(0, len(events), 500):
            chunk = events[start : start + 500]
            answer = _call(url, token, lambda client, chunk=chunk: client.submit(chunk))
            results.extend(answer["results"])
            progress.update(task, completed=start + len(chunk))
    for result in results[:20]:
        state = "duplicate" if result["duplicate"] else "accepted"
        flushed = f", flushed ({result['flush_reason']})" if result["flushed"] else ""
        muted = result.get("muted")
        where = f"and kept: muted by {muted}" if muted else f"into {result['batch_id']}"
        out.print(f"{result['id']}: {state} {where}{flushed}", markup=False, soft_wrap=True)
    if len(results) > 20:
        out.print(f"…and {len(results) - 20} more")


def _read_events(text: str, channel: str | None) -> list[dict[str, Any]]:
    try:
        rows = json_rows(text)
    except ValueError as exc:
        fail(f"the file is neither JSON nor JSON lines: {exc}", EXIT_USAGE)
    events = []
    for row in rows:
        if not isinstance(row, dict):
            fail("every event must be a JSON object", EXIT_USAGE)
        event = dict(row.get("event", row))  # demo stream lines wrap the event
        named = event.get("channel") or row.get("channel") or channel
        if named:  # else the server's [[routes]] pick it
            event["channel"] = named
        events.append(event)
    return events


@click.command()
@_client_options
@click.option("--channel", help="Only this channel's batches.")
@click.option("--batch", "batch_id", help="Only this batch.")
def flush(url: str, token: str | None, channel: str | None, batch_id: str | None) -> None:
    """Flush pending batches now (all, one channel's, or one batch)."""
    if batch_id:
        result = _call(url, token, lambda client: client.flush_batch(batch_id))
    else:
        result = _call(url, token, lambda client: client.flush(channel))
    out.print(
        f"flushed {counted(result['flushed_batches'], 'batch')} "
        f"({counted(result['flushed_messages'], 'message')}); delivery is under way"
    )


@click.command()
@_client_options
@click.option("--channel", help="Only this channel.")
@click.option("--json", "as_json", is_flag=True, help="Print the raw JSON.")
def inspect(url: str, token: str | None, channel: str | None, as_json: bool) -> None:
    """Show pending batches: what waits, and when it is due."""
    pending = _call(url, token, lambda client: client.batches(channel))
    if as_json:
        _print_json(pending)
        return
    rows = [
        [
            name,
            batch["id"],
            batch["batch_type"],
            str(batch["message_count"]),
            f"{batch['seconds_until_due']:.0f} s",
            "; ".join(i["summary"] for i in batch["items"][:3]),
        ]
        for name, info in pending["channels"].items()
        for batch in info["batches"]
    ]
    print_table(
        f"{counted(pending['total_batches'], 'pending batch')}, "
        f"{counted(pending['total_messages'], 'message')}",
        [
            ("channel", "id"),
            ("batch", "id"),
            ("type", "short"),
            ("messages", "short"),
            ("due in", "short"),
            ("first items", "text"),
        ],
        rows,
    )


@click.command()
@_client_options
@click.option("--channel", help="One channel's statistics.")
@click.option("--health", "with_health", is_flag=True, help="Show health; exit 5 if unhealthy.")
@click.option("--json", "as_json", is_flag=True, help="Print the raw JSON.")
def stats(
    url: str, token: str | None, channel: str | None, with_health: bool, as_json: bool
) -> None:
    """Show statistics (and health) of a running server."""
    figures = _call(url, token, lambda client: client.stats(channel))
    health = _call(url, token, lambda client: client.health()) if with_health else None
    if as_json:
        _print_json({"stats": figures, "health": health} if health else figures)
    else:
        title = Text(f"stats{' of ' + channel if channel else ''}")
        table = Table(title=title, show_header=False)
        for key, value in figures.items():
            if not isinstance(value, dict | list):
                table.add_row(*cells(key, str(value)))
        for source, counts in (figures.get("sources") or {}).items():
            said = ", ".join(
                f"{counts.get(outcome, 0)} {outcome}"
                for outcome in ("accepted", "duplicate", "ignored", "unrouted", "invalid")
            )
            table.add_row(*cells(f"{source} webhooks", said))
        out.print(table)
        if health is not None:
            checks = Table(title=f"health: {health['status']}")
            for name in ("check", "status", "message"):
                checks.add_column(name)
            for name, check in health["checks"].items():
                checks.add_row(*cells(name, check["status"], check["message"]))
            out.print(checks)
    if health is not None and health["status"] == "unhealthy":
        sys.exit(EXIT_UNHEALTHY)


@click.group("dead-letters")
def dead_letters() -> None:
    """List and replay messages that could not be delivered."""


@dead_letters.command("list")
@_client_options
@click.option("--channel", help="Only this channel.")
@click.option("--json", "as_json", is_flag=True, help="Print the raw JSON.")
def dead_letters_list(url: str, token: str | None, channel: str | None, as_json: bool) -> None:
    """List dead letters with their reasons."""
    letters = _call(url, token, lambda client: client.dead_letters(channel))
    if as_json:
        _print_json(letters)
        return
    rows = [
        [
            letter["id"],
            letter["channel_id"],
            str(letter["message_count"]),
            letter["reason"],
            letter["created_at"],
        ]
        for letter in letters
    ]
    print_table(
        counted(len(letters), "dead letter"),
        [
            ("id", "id"),
            ("channel", "id"),
            ("messages", "short"),
            ("reason", "text"),
            ("created", "short"),
        ],
        rows,
    )


@dead_letters.command("replay")
@_client_options
@click.argument("letter_ids", nargs=-1, required=True)
def dead_letters_replay(url: str, token: str | None, letter_ids: tuple[str, ...]) -> None:
    """Re-queue dead letters' messages for batching (one or more ids)."""
    for letter_id in letter_ids:
        result = _call(url, token, lambda client, lid=letter_id: client.replay(lid))
        out.print(
            f"{letter_id}: re-queued {result['requeued']} messages", markup=False, soft_wrap=True
        )


def register(main: click.Group) -> None:
    """Add the server commands to *main*."""
    for command in (send, flush, inspect, stats, dead_letters):
        main.add_command(command)
