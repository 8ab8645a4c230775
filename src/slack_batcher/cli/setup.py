"""Setup commands: ``config init``, ``config show`` and ``routes test``.

Registered on the main command by :func:`register` (one line in ``cli.py``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console

from ..model.errors import ConfigError
from .output import EXIT_USAGE, config_option, fail, fail_config

__all__ = ["config_warnings", "register", "to_toml"]

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def _fail(message: str) -> NoReturn:
    fail(message, EXIT_USAGE)


def _load(path: Path | None) -> Any:
    from ..http.settings import load_settings

    try:
        return load_settings(path)
    except ConfigError as exc:
        fail_config(exc.problems, path)


def config_warnings(path: Path | None) -> list[str]:
    """Return what is valid but probably not meant in the configuration at *path*."""
    from ..http.settings import load_settings

    try:
        settings = load_settings(path)
    except ConfigError:
        return []
    enabled = settings.sources.enabled()
    notes = settings.routes.warnings(sources_enabled=bool(enabled))
    for source in enabled:
        secret = settings.sources.credential(source) or ""
        if len(secret) < 16:
            key = "token" if source == "alertmanager" else "secret"
            notes.append(
                f"sources.{source}.{key}: shorter than 16 characters; use a long random one"
            )
    return notes


# --------------------------------------------------------------------------- TOML out


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(str(value), ensure_ascii=False)


def _key(name: str) -> str:
    bare = name.replace("_", "").replace("-", "").isalnum() and name.isascii()
    return name if bare else json.dumps(name)


def _table(name: str, values: dict[str, Any], lines: list[str]) -> None:
    scalars = {k: v for k, v in values.items() if not isinstance(v, dict)}
    nested = {k: v for k, v in values.items() if isinstance(v, dict)}
    if scalars or not nested:
        lines.append(f"\n[{name}]")
        for key, value in scalars.items():
            if value is None:
                lines.append(f"# {key} = (not set)")
            else:
                lines.append(f"{_key(key)} = {_toml_value(value)}")
    for key, value in nested.items():
        _table(f"{name}.{_key(key)}", value, lines)


def to_toml(values: dict[str, Any]) -> str:
    """Render settings (as ``model_dump(mode="json")`` gives them) as a TOML document."""
    lines: list[str] = []
    for name, table in values.items():
        if name == "routes":
            continue
        if isinstance(table, dict):
            _table(_key(name), table, lines)
    for route in values.get("routes") or []:
        lines.append("\n[[routes]]")
        for key, value in route.items():
            lines.append(f"{_key(key)} = {_toml_value(value)}")
    return "\n".join(lines).lstrip("\n") + "\n"


# ------------------------------------------------------------------------ commands


@click.command("init")
@click.argument(
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("slack-batcher.toml"),
    required=False,
)
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
def config_init(path: Path, force: bool) -> None:
    """Write a commented starter configuration to PATH (default: slack-batcher.toml)."""
    from ..demo.data import starter_config

    if path.exists() and not force:
        _fail(f"{path} exists; use --force to overwrite it")
    try:
        path.write_text(starter_config(), encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot write {path}: {exc.strerror}")
    out.print(f"wrote {path}", markup=False)
    out.print(
        f"next: edit the [[routes]], set the secrets in the environment, then\n"
        f"  slack-batcher config check {path}\n  slack-batcher serve --config {path}",
        markup=False,
    )


@click.command("show")
@config_option("TOML configuration file (default: defaults plus the environment).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of TOML.")
def config_show(config_path: Path | None, as_json: bool) -> None:
    """Print the effective settings (file + environment + defaults), secrets masked."""
    from ..store.describe import redacted_url

    settings = _load(config_path)
    values = settings.model_dump(mode="json")  # SecretStr fields dump as "**********"
    values["store"]["url"] = redacted_url(values["store"]["url"])  # ?password=, user:pw@
    values["sender"]["slack_api_url"] = redacted_url(values["sender"]["slack_api_url"])
    if as_json:
        out.print_json(json.dumps(values))
    else:
        sys.stdout.write(to_toml(values))


@click.group("routes")
def routes() -> None:
    """Try the [[routes]] of a configuration."""


def _api(raw: object) -> Any:
    """Adapt a /v1/messages event (its ``channel`` ignored) as the routes would see it."""
    from ..model.message import BatchableMessage
    from ..sources import Adapted
    from ..sources.api import api_event

    if not isinstance(raw, dict):
        raise ValueError("expected one event: a JSON object")
    event = {k: v for k, v in raw.items() if k != "channel"}
    event.setdefault("id", "routes-test")
    message = BatchableMessage.from_dict(event)
    return Adapted("api", message.content_type.value, (api_event(message),))


def _headers(pairs: tuple[str, ...]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition(":")
        if not sep or not name.strip():
            _fail(f"--header {pair!r}: expected Name: value")
        headers[name.strip()] = value.strip()
    return headers


@routes.command("test")
@click.option(
    "--source",
    required=True,
    type=click.Choice(["github", "jira", "alertmanager", "api"]),
    help="Which provider sent the payload (api: a /v1/messages event without a channel).",
)
@click.option("--event", default="", help="GitHub's X-GitHub-Event (Jira's is in the body).")
@click.option("--header", "header_pairs", multiple=True, help="Extra header, 'Name: value'.")
@config_option("TOML configuration whose [[routes]] to use.")
@click.option("--json", "as_json", is_flag=True, help="Print the messages as JSON.")
@click.argument("payload", type=click.File("rb"))
def routes_test(
    source: str,
    event: str,
    header_pairs: tuple[str, ...],
    config_path: Path | None,
    as_json: bool,
    payload: Any,
) -> None:
    """Show the channel(s) a webhook PAYLOAD would go to and the message it becomes."""
    from ..formatting.factory import SlackMessageFormatterFactory
    from ..sources import ADAPTERS, PayloadError

    settings = _load(config_path)
    headers = _headers(header_pairs)
    if event:
        headers["X-GitHub-Event"] = event
    if source == "github" and not any(k.lower() == "x-github-event" for k in headers):
        _fail(
            "a GitHub payload does not say its event (GitHub sends it in the X-GitHub-Event "
            "header): pass it with --event, e.g. --event pull_request"
        )
    try:
        raw = json.loads(payload.read())
        adapted = _api(raw) if source == "api" else ADAPTERS[source](raw, headers)
    except (PayloadError, ValueError, RecursionError) as exc:
        _fail(f"{payload.name}: {exc}")
    if adapted.ignored is not None:
        out.print(f"ignored ({adapted.event}): {adapted.ignored}", markup=False)
        return
    factory = SlackMessageFormatterFactory()
    report: list[dict[str, Any]] = []
    for routed in adapted.events:
        decision = settings.routes.route(routed)
        labels = [settings.routes.routes[i].label for i in decision.routes]
        if decision.dropped:
            where = f"dropped by {labels[-1]}"
        elif decision.unrouted:
            where = "unrouted: no route matches (add a catch-all route)"
        else:
            where = ", ".join(decision.channels) + f"  (by {', '.join(labels)})"
        rendered = factory.format_message(routed.message, channel_id="preview")
        report.append(
            {
                "kind": f"{routed.source} {routed.kind}",
                "channels": list(decision.channels),
                "dropped": decision.dropped,
                "routes": labels,
                "message": routed.message.to_dict(),
                "text": rendered.text,
            }
        )
        if not as_json:
            out.print(f"{routed.source} {routed.kind} → {where}", markup=False, soft_wrap=True)
            out.print(
                f"  message {routed.message.id}: {rendered.text}", markup=False, soft_wrap=True
            )
    if as_json:
        out.print_json(json.dumps(report, default=str))


def register(main: click.Group) -> None:
    """Add ``config init``, ``config show`` and the ``routes`` group to *main*."""
    config = main.commands.get("config")
    if isinstance(config, click.Group):
        config.add_command(config_init)
        config.add_command(config_show)
    main.add_command(routes)
