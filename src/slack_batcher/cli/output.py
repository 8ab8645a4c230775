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
    "EXIT_AUTH",
    "EXIT_REFUSED",
    "EXIT_UNHEALTHY",
    "EXIT_UNREACHABLE",
    "EXIT_USAGE",
    "cells",
    "config_option",
    "err",
    "fail",
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
        help=help_text,
    )


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
