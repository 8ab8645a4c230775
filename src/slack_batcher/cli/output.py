"""What every ``slack-batcher`` command shares: the consoles, exit codes, errors and tables."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

__all__ = [
    "DEFAULT_CONFIG",
    "EXIT_AUTH",
    "EXIT_REFUSED",
    "EXIT_UNHEALTHY",
    "EXIT_UNREACHABLE",
    "EXIT_USAGE",
    "cells",
    "config_option",
    "counted",
    "err",
    "fail",
    "fail_config",
    "find_config",
    "out",
    "print_table",
]

EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_AUTH = 4
EXIT_UNHEALTHY = 5

#: Standard output and standard error (progress bars and errors go to the latter).
out = Console()
err = Console(stderr=True)


_Command = TypeVar("_Command", bound=Callable[..., object])


def config_option(help_text: str) -> Callable[[_Command], _Command]:
    """Return the ``--config`` option (also ``SLACK_BATCHER_CONFIG``) described by *help_text*."""
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="SLACK_BATCHER_CONFIG",
        show_envvar=True,
        callback=lambda ctx, param, value: find_config(value),
        help=f"{help_text} Default: ./{DEFAULT_CONFIG} when it exists.",
    )


#: The file ``config init`` writes, found in the current directory without ``--config``.
DEFAULT_CONFIG = "slack-batcher.toml"


def find_config(given: Path | None) -> Path | None:
    """Return the configuration file to read, or None (defaults plus the environment).

    *given* (``--config`` / ``$SLACK_BATCHER_CONFIG``) wins; else ./slack-batcher.toml, the
    file ``config init`` writes, when it exists.
    """
    if given is not None:
        return given
    found = Path(DEFAULT_CONFIG)
    return found if found.is_file() else None


def counted(count: int, thing: str, things: str | None = None) -> str:
    """``1 pending batch``, ``2 pending batches``: *count* with the right form of *thing*."""
    if count == 1:
        return f"{count} {thing}"
    if things is None:
        things = thing + ("es" if thing.endswith(("s", "ch", "sh", "x")) else "s")
    return f"{count} {things}"


def cells(*values: str) -> list[Text]:
    """Return table cells shown as typed: user text never parsed as Rich markup."""
    return [Text(value) for value in values]


def print_table(title: str, columns: list[tuple[str, str]], rows: list[list[str]]) -> None:
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
        table.add_row(*cells(*row))
    out.print(table, width=max(out.width, needed))


def fail_config(problems: list[str], where: Path | str | None) -> NoReturn:
    """Refuse a configuration: one ``error:`` line per problem (one problem: one line), exit 2.

    Each line names where the problem is (*where*: the file, or the environment) unless
    the problem already starts with it (``x.toml: no such file``).
    """
    place = str(where) if where is not None else "the environment"
    for problem in problems or ["invalid configuration"]:
        line = problem if problem.startswith(f"{place}:") else f"{place}: {problem}"
        err.print(
            f"[bold red]error:[/] {escape(line)}", highlight=False, markup=True, soft_wrap=True
        )
    sys.exit(EXIT_USAGE)


def fail(message: str, code: int) -> NoReturn:
    """Print *message* as an error (never wrapped mid-line) and exit with *code*."""
    err.print(
        f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True, soft_wrap=True
    )
    sys.exit(code)


def json_rows(text: str) -> list[Any]:
    """Parse *text* as one JSON value (a list gives its items) or else as JSON lines.

    Raises ValueError (from the JSON-lines reading) when it is neither.
    """
    try:
        parsed = json.loads(text)
    except ValueError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return parsed if isinstance(parsed, list) else [parsed]
