"""The ``slack-batcher`` command: serve, demo, talk to a running server, preview, config.

Exit codes: 0 success; 1 the server refused the operation (unknown id, …); 2 bad usage,
input or configuration; 3 the server could not be reached; 4 the API token was refused;
5 the service reports itself unhealthy (``stats --health``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import Any

import click
from rich.progress import Progress
from rich.table import Table

from ..model.errors import ConfigError
from . import client as cli_client
from .mutes import mutes
from .output import (
    EXIT_REFUSED,
    EXIT_USAGE,
    config_option,
    err,
    fail,
    fail_config,
    find_config,
    json_rows,
    out,
)
from .replay import register as register_replay
from .setup import config_warnings, register
from .slack_app import slack

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="slack-batcher")
def main() -> None:
    """Channel-aware batching of Slack notifications: fewer, clearer posts, nothing lost."""


# ------------------------------------------------------------------------------ serve


@main.command()
@config_option("TOML configuration file (see `slack-batcher config check`).")
@click.option("--host", help="Listen address (overrides server.host).")
@click.option("--port", type=click.IntRange(0, 65535), help="Listen port (overrides server.port).")
@click.option(
    "--record",
    "record_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Append every accepted webhook delivery to this file, for `slack-batcher replay` "
    "(overrides server.record_path; no signature or token is written).",
)
def serve(
    config_path: Path | None, host: str | None, port: int | None, record_path: Path | None
) -> None:
    """Run the HTTP service until Ctrl-C (then flush and deliver what is pending)."""
    from ..http.server import (
        build_service,
        build_store,
        check_bind,
        configure_logging,
        describe_sender,
        store_unreachable,
        tune_gc,
    )
    from ..http.server import serve as run_server
    from ..http.settings import load_settings
    from ..model.errors import StoreError

    try:
        settings = load_settings(config_path)
        server = settings.server.model_copy(
            update={
                k: v
                for k, v in (("host", host), ("port", port), ("record_path", record_path))
                if v is not None
            }
        )
        settings = settings.model_copy(update={"server": server})
        note = check_bind(settings)
    except ConfigError as exc:
        fail_config(exc.problems, config_path)
    try:  # opened before anything is printed: a refused store is one line and exit 2
        store = build_store(settings.store.url, prefix=settings.store.prefix)
        try:
            problem = store_unreachable(store)
            if problem is not None:
                raise StoreError(f"store.url {settings.store.display_url}: {problem}")
            service = build_service(settings, store=store)
        except BaseException:
            store.close()
            raise
    except ConfigError as exc:
        fail_config(exc.problems, config_path)
    except StoreError as exc:
        fail(str(exc), EXIT_USAGE)
    configure_logging(settings.logging)
    err.print(f"slack-batcher: {note}", markup=False, soft_wrap=True)
    err.print(
        f"dashboard: http://{settings.server.host}:{settings.server.port}/  "
        f"(store: {settings.store.display_url})",
        markup=False,
        soft_wrap=True,
    )
    err.print(f"sender: {describe_sender(settings.sender)}", markup=False, soft_wrap=True)
    if settings.server.record_path is not None:
        err.print(
            f"recording accepted webhook deliveries to {settings.server.record_path.resolve()}",
            markup=False,
            soft_wrap=True,
        )
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal: after a
    # clean shutdown that is a normal exit, not an abort.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    tune_gc()
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run_server(settings, service=service))
    except StoreError as exc:  # e.g. a row of the store that cannot be read
        fail(str(exc), EXIT_USAGE)
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
    from ..demo.run import demo_settings, load_deliveries, run_demo

    try:
        deliveries = load_deliveries(events_file)
        settings = demo_settings(config_path)
    except (ValueError, ConfigError) as exc:
        problems = exc.problems if isinstance(exc, ConfigError) else [str(exc)]
        fail("; ".join(problems), EXIT_USAGE)
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
            fail(str(exc), EXIT_USAGE)
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
        ("in channel (no digests → digests)", "right"),
        ("Slack calls", "right"),
        ("wait p50", "right"),
        ("longest", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in result.channels:
        before = row.top_level_without_digests
        table.add_row(
            row.channel,
            str(row.events),
            f"{before} → {row.top_level}" if before is not None else str(row.top_level),
            str(row.slack_calls),
            _minutes(row.p50_wait_seconds),
            _minutes(row.longest_wait_seconds),
        )
    after = sum(row.top_level for row in result.channels)
    befores = [row.top_level_without_digests for row in result.channels]
    shown = str(after) if None in befores else f"{sum(b or 0 for b in befores)} → {after}"
    calls = sum(row.slack_calls for row in result.channels)
    table.add_row("total", str(events), shown, str(calls), "", "")
    out.print(table)
    storm = result.storm
    if storm is not None and storm.events:
        out.print(
            f"Storm in {storm.channel} {storm.start:%H:%M}–{storm.end:%H:%M}: {storm.events} "
            f"events → {storm.top_level} new top-level posts (without live digests: "
            f"{storm.top_level_without_digests}), {storm.edits} edits, "
            f"{storm.replies} thread replies."
        )
    out.print(f"Wrote {output_dir}/index.html (every post as Slack shows it) and posts.jsonl.")
    token = os.environ.get("SLACK_BOT_TOKEN")
    if token and channel:
        _post_demo_for_real(result.posts, token, channel)
    elif token or channel:
        out.print("To post for real, set both SLACK_BOT_TOKEN and --channel/SLACK_DEMO_CHANNEL.")


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 60 else f"{seconds / 60:.1f} min"


def _post_demo_for_real(posts: list[Any], token: str, channel: str) -> None:
    from ..delivery.slack import SlackSender
    from ..demo.post import post_for_real
    from ..model.errors import DeliveryError

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
            fail(f"Slack refused a post: {exc.code}", EXIT_REFUSED)
    out.print(f"Posted {sent} messages to {channel}.")


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
    from ..http.preview import render_page

    text = payload.read()
    try:
        messages = json_rows(text)
    except ValueError as exc:
        fail(f"{payload.name}: not JSON or JSON lines: {exc}", EXIT_USAGE)
    if not all(isinstance(m, dict) and ("blocks" in m or "text" in m) for m in messages):
        fail(f"{payload.name}: expected Slack payloads with 'blocks' or 'text'", EXIT_USAGE)
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
@click.argument(
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=False,
    envvar="SLACK_BATCHER_CONFIG",
)
def config_check(path: Path | None) -> None:
    """Validate a TOML file plus the environment; explain every problem with its key.

    PATH defaults to $SLACK_BATCHER_CONFIG, else ./slack-batcher.toml when it exists.
    """
    from ..http.settings import check_settings

    path = find_config(path)
    problems = check_settings(path)
    if problems:
        fail_config(problems, path)
    out.print(f"{path or 'environment'}: OK")
    for warning in config_warnings(path):
        err.print(f"  warning: {warning}", markup=False)


cli_client.register(main)  # send, flush, inspect, stats, dead-letters (cli_client.py)
register(main)  # config init / show, routes test (cli_setup.py)
main.add_command(mutes)  # mutes list / add / remove (cli/mutes.py)
main.add_command(slack)  # slack manifest (cli/slack_app.py)
register_replay(main)  # replay DELIVERIES.jsonl (replay.py)

if __name__ == "__main__":
    main()
