"""The ``slack-batcher`` command: serve, demo, talk to a running server, preview, config.

Exit codes: 0 success; 1 the server refused the operation (unknown id, …); 2 bad usage,
input or configuration; 3 the server could not be reached; 4 the API token was refused;
5 the service reports itself unhealthy (``stats --health``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table
from rich.text import Text

from .cli_setup import config_warnings, register
from .errors import ConfigError

__all__ = ["main"]

EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_AUTH = 4
EXIT_UNHEALTHY = 5
DEFAULT_URL = "http://127.0.0.1:8787"

out = Console()
err = Console(stderr=True)


def _cells(*values: str) -> list[Text]:
    """Table cells shown as typed: user text never parsed as Rich markup."""
    return [Text(value) for value in values]


def _print_table(title: str, columns: list[tuple[str, str]], rows: list[list[str]]) -> None:
    """Print *rows* under *columns* (name, kind); ids and channels are never cut.

    Users paste ids into ``flush --batch`` and ``dead-letters replay``, so ``id`` columns
    keep their full width, ``short`` ones do not wrap and ``text`` ones wrap around them; a
    table whose ids alone are wider than the terminal is printed wider rather than cut.
    """
    table = Table(title=Text(title))
    needed = 1
    for index, (name, kind) in enumerate(columns):
        if kind == "id":
            width = max([len(name), *(len(row[index]) for row in rows)])
            table.add_column(name, no_wrap=True, min_width=width)
            needed += width + 3
        else:
            table.add_column(name, no_wrap=kind == "short", overflow="fold")
            needed += 4
    for row in rows:
        table.add_row(*_cells(*row))
    out.print(table, width=max(out.width, needed))


def _fail(message: str, code: int) -> NoReturn:
    err.print(
        f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True, soft_wrap=True
    )
    sys.exit(code)


def _client_options(command: Any) -> Any:
    command = click.option(
        "--token",
        envvar="SLACK_BATCHER_API_TOKEN",
        help="API token (default: $SLACK_BATCHER_API_TOKEN).",
        show_envvar=True,
    )(command)
    return click.option(
        "--url",
        envvar="SLACK_BATCHER_URL",
        default=DEFAULT_URL,
        show_default=True,
        show_envvar=True,
        help="Base URL of a running slack-batcher server.",
    )(command)


def _call(url: str, token: str | None, action: Any) -> Any:
    """Run *action(client)*, turning HTTP failures into messages and exit codes."""
    from .http.client import ApiError, ServiceClient, Unreachable

    try:
        with ServiceClient(url, token) as client:
            return action(client)
    except Unreachable as exc:
        _fail(str(exc), EXIT_UNREACHABLE)
    except ApiError as exc:
        if exc.status == 401:
            _fail(f"the server refused the API token: {exc.detail}", EXIT_AUTH)
        for problem in exc.errors:
            err.print(
                f"  {problem.get('field')}: {problem.get('message')}", markup=False, soft_wrap=True
            )
        code = EXIT_USAGE if exc.status in (400, 413, 422) else EXIT_REFUSED
        _fail(f"HTTP {exc.status}: {exc.detail}", code)


def _print_json(value: Any) -> None:
    out.print_json(json.dumps(value, default=str))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="slack-batcher")
def main() -> None:
    """Channel-aware batching of Slack notifications: fewer, clearer posts, nothing lost."""


# ------------------------------------------------------------------------------ serve


@main.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="SLACK_BATCHER_CONFIG",
    show_envvar=True,
    help="TOML configuration file (see `slack-batcher config check`).",
)
@click.option("--host", help="Listen address (overrides server.host).")
@click.option("--port", type=click.IntRange(0, 65535), help="Listen port (overrides server.port).")
def serve(config_path: Path | None, host: str | None, port: int | None) -> None:
    """Run the HTTP service until Ctrl-C (then flush and deliver what is pending)."""
    from .errors import StoreError
    from .http.server import (
        build_service,
        build_store,
        check_bind,
        configure_logging,
        describe_sender,
    )
    from .http.server import serve as run_server
    from .settings import load_settings

    try:
        settings = load_settings(config_path)
        server = settings.server.model_copy(
            update={k: v for k, v in (("host", host), ("port", port)) if v is not None}
        )
        settings = settings.model_copy(update={"server": server})
        note = check_bind(settings)
    except ConfigError as exc:
        for problem in exc.problems:
            err.print(f"  {problem}", markup=False, soft_wrap=True)
        _fail("invalid configuration", EXIT_USAGE)
    try:  # opened before anything is printed: a refused store is one line and exit 2
        store = build_store(settings.store.url)
        try:
            service = build_service(settings, store=store)
        except BaseException:
            store.close()
            raise
    except (StoreError, ConfigError) as exc:
        _fail(str(exc), EXIT_USAGE)
    configure_logging(settings.logging)
    err.print(f"slack-batcher: {note}", markup=False, soft_wrap=True)
    err.print(
        f"dashboard: http://{settings.server.host}:{settings.server.port}/  "
        f"(store: {settings.store.display_url})",
        markup=False,
        soft_wrap=True,
    )
    err.print(f"sender: {describe_sender(settings.sender)}", markup=False, soft_wrap=True)
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal: after a
    # clean shutdown that is a normal exit, not an abort.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run_server(settings, service=service))
    except StoreError as exc:  # e.g. a row of the store that cannot be read
        _fail(str(exc), EXIT_USAGE)
    err.print("slack-batcher: stopped", markup=False)


def _exit_cleanly(signum: int, frame: object) -> None:
    sys.exit(0)


# ------------------------------------------------------------------------------- demo


@main.command()
@click.option(
    "--events",
    "events_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Webhook deliveries to replay, as JSON lines (default: the bundled day).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Batching and [[routes]] to use (default: the starter config, `config init`).",
)
@click.option(
    "--output",
    "output_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-output"),
    show_default=True,
    help="Where to write posts.jsonl, summary.json and index.html.",
)
@click.option(
    "--channel",
    envvar="SLACK_DEMO_CHANNEL",
    show_envvar=True,
    help="With $SLACK_BOT_TOKEN: post the demo's messages to this real channel.",
)
def demo(
    events_file: Path | None, config_path: Path | None, output_dir: Path, channel: str | None
) -> None:
    """Replay a day of a small team's webhooks through the real service (no token needed)."""
    from .demo import demo_settings, load_deliveries, run_demo

    try:
        deliveries = load_deliveries(events_file)
        settings = demo_settings(config_path)
    except (ValueError, ConfigError) as exc:
        problems = exc.problems if isinstance(exc, ConfigError) else [str(exc)]
        _fail("; ".join(problems), EXIT_USAGE)
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("replaying webhooks", total=len(deliveries))
        try:
            result = run_demo(
                output_dir,
                deliveries=deliveries,
                settings=settings,
                progress=lambda done: progress.update(task, completed=done),
            )
        except ValueError as exc:
            _fail(str(exc), EXIT_USAGE)
    sources = ", ".join(f"{name} {count}" for name, count in result.deliveries.items())
    answers = ", ".join(f"{count} {name}" for name, count in result.outcomes.items())
    out.print(
        f"{len(deliveries)} signed webhook deliveries ({sources}) posted to /v1/sources/*: "
        f"{answers}",
        markup=False,
    )
    events = result.total_events
    table = Table(title=f"A day of a small team: {events} events, simulated in seconds")
    for name, justify in (
        ("channel", "left"),
        ("events in", "right"),
        ("Slack posts out", "right"),
        ("reduction", "right"),
        ("in channel (no digests → digests)", "right"),
        ("longest wait", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in result.channels:
        before = row.top_level_without_digests
        table.add_row(
            row.channel,
            str(row.events),
            str(row.posts),
            f"{row.reduction:.0%}",
            f"{before} → {row.top_level}" if before is not None else str(row.top_level),
            f"{row.longest_wait_seconds / 60:.1f} min",
        )
    total_reduction = 1 - result.total_posts / events if events else 0.0
    after = sum(row.top_level for row in result.channels)
    befores = [row.top_level_without_digests for row in result.channels]
    shown = str(after) if None in befores else f"{sum(b or 0 for b in befores)} → {after}"
    table.add_row(
        "total",
        str(result.total_events),
        str(result.total_posts),
        f"{total_reduction:.0%}",
        shown,
        "",
    )
    out.print(table)
    storm = result.storm
    if storm is not None and storm.events:
        out.print(
            f"Storm in {storm.channel} {storm.start:%H:%M}–{storm.end:%H:%M}: {storm.events} "
            f"events → {storm.top_level} top-level posts (without live digests: "
            f"{storm.top_level_without_digests}), {storm.edits} edits, "
            f"{storm.replies} thread replies."
        )
    out.print(f"Wrote {output_dir}/index.html (every post as Slack shows it) and posts.jsonl.")
    token = os.environ.get("SLACK_BOT_TOKEN")
    if token and channel:
        _post_demo_for_real(result.posts, token, channel)
    elif token or channel:
        out.print("To post for real, set both SLACK_BOT_TOKEN and --channel/SLACK_DEMO_CHANNEL.")


def _post_demo_for_real(posts: list[Any], token: str, channel: str) -> None:
    from .delivery.slack import SlackSender
    from .demo_post import post_for_real
    from .errors import DeliveryError

    sender = SlackSender(token)
    with Progress(console=err) as progress:
        task = progress.add_task(f"posting to {channel}", total=len(posts))
        try:
            sent = asyncio.run(
                post_for_real(
                    posts,
                    sender,
                    channel,
                    progress=lambda done: progress.update(task, completed=done),
                )
            )
        except DeliveryError as exc:
            _fail(f"Slack refused a post: {exc.code}", EXIT_REFUSED)
    out.print(f"Posted {sent} messages to {channel}.")


# --------------------------------------------------------------------- server commands


@main.command()
@_client_options
@click.option(
    "--channel",
    help="Slack channel id or name (with --file: the channel of events that name none).",
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

        if channel is None:
            _fail(
                "--channel is required (or send a --file whose events name their channel)",
                EXIT_USAGE,
            )

        try:
            data = json.loads(data_json) if data_json else {}
        except ValueError as exc:
            _fail(f"--data is not valid JSON: {exc}", EXIT_USAGE)
        if not isinstance(data, dict):
            _fail("--data must be a JSON object", EXIT_USAGE)
        if title:
            data["title"] = title
        event = {
            "id": event_id or f"cli-{secrets.token_hex(6)}",
            "channel": channel,
            "content_type": content_type,
            "priority": priority,
            "data": data,
        }
        if author:
            event["author"] = author
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
        out.print(
            f"{result['id']}: {state} into {result['batch_id']}{flushed}",
            markup=False,
            soft_wrap=True,
        )
    if len(results) > 20:
        out.print(f"…and {len(results) - 20} more")


def _read_events(text: str, channel: str | None) -> list[dict[str, Any]]:
    try:
        parsed = json.loads(text)
        rows = parsed if isinstance(parsed, list) else [parsed]
    except ValueError:
        try:
            rows = [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError as exc:
            _fail(f"the file is neither JSON nor JSON lines: {exc}", EXIT_USAGE)
    events = []
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            _fail("every event must be a JSON object", EXIT_USAGE)
        event = dict(row.get("event", row))  # demo stream lines wrap the event
        named = event.get("channel") or row.get("channel") or channel
        if not named:
            _fail(f"event [{index}] names no channel: give --channel for such events", EXIT_USAGE)
        event["channel"] = named
        events.append(event)
    return events


@main.command()
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
        f"flushed {result['flushed_batches']} batches "
        f"({result['flushed_messages']} messages); delivery is under way"
    )


@main.command()
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
    _print_table(
        f"{pending['total_batches']} pending batches, {pending['total_messages']} messages",
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


@main.command()
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
                table.add_row(*_cells(key, str(value)))
        out.print(table)
        if health is not None:
            checks = Table(title=f"health: {health['status']}")
            for name in ("check", "status", "message"):
                checks.add_column(name)
            for name, check in health["checks"].items():
                checks.add_row(*_cells(name, check["status"], check["message"]))
            out.print(checks)
    if health is not None and health["status"] == "unhealthy":
        sys.exit(EXIT_UNHEALTHY)


@main.group("dead-letters")
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
    _print_table(
        f"{len(letters)} dead letters",
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


# -------------------------------------------------------------------- local commands


@main.command()
@click.argument("payload", type=click.File("r"))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="HTML file to write (default: PAYLOAD with .html).",
)
def preview(payload: Any, output: Path | None) -> None:
    """Render a Slack payload (chat.postMessage JSON, a list, or JSON lines) to HTML."""
    from .http.preview import render_page

    text = payload.read()
    try:
        parsed = json.loads(text)
        messages = parsed if isinstance(parsed, list) else [parsed]
    except ValueError:
        try:
            messages = [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError as exc:
            _fail(f"{payload.name}: not JSON or JSON lines: {exc}", EXIT_USAGE)
    if not all(isinstance(m, dict) and ("blocks" in m or "text" in m) for m in messages):
        _fail(f"{payload.name}: expected Slack payloads with 'blocks' or 'text'", EXIT_USAGE)
    by_channel: dict[str, list[dict[str, Any]]] = {}
    for message in messages:
        by_channel.setdefault(str(message.get("channel") or "preview"), []).append(message)
    name = payload.name if payload.name != "<stdin>" else "preview.json"
    target = output or Path(name).with_suffix(".html")
    target.write_text(render_page(by_channel.items(), title=f"Preview of {name}"), "utf-8")
    out.print(f"wrote {target} ({len(messages)} messages)")


@main.group()
def config() -> None:
    """Check configuration files."""


@config.command("check")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), required=False)
def config_check(path: Path | None) -> None:
    """Validate a TOML file plus the environment; explain every problem with its key."""
    from .settings import check_settings

    problems = check_settings(path)
    if problems:
        for problem in problems:
            err.print(f"  {problem}", markup=False, soft_wrap=True)
        _fail(f"{len(problems)} problem(s) in {path or 'the environment'}", EXIT_USAGE)
    out.print(f"{path or 'environment'}: OK")
    for warning in config_warnings(path):
        err.print(f"  warning: {warning}", markup=False)


register(main)  # config init / show, routes test (cli_setup.py)

if __name__ == "__main__":
    main()
