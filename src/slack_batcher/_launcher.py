"""The ``slack-batcher`` command's entry point: say which extra to install when one is missing.

``pip install slack-batcher`` installs the library and this command, but the command needs
the ``server`` extra (click, rich, FastAPI, uvicorn, …). Without it the command explains
what to install instead of dying on ``ModuleNotFoundError``.
"""

from __future__ import annotations

import sys

__all__ = ["SERVER_MODULES", "main"]

#: Top-level modules that come with ``slack-batcher[server]``.
SERVER_MODULES = frozenset(
    {
        "click",
        "rich",
        "fastapi",
        "starlette",
        "uvicorn",
        "prometheus_client",
        "pydantic_settings",
        "httpx",
        "fastapi_offline",
    }
)
EXIT_MISSING_EXTRA = 2


def main() -> None:
    """Run the CLI, or explain that ``slack-batcher[server]`` is needed (exit code 2)."""
    try:
        from .cli.commands import main as cli
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").partition(".")[0]
        if missing not in SERVER_MODULES:
            raise
        print(
            f"slack-batcher: the command needs the server extra (module {missing!r} is not "
            "installed).\nInstall it with:  pip install 'slack-batcher[server]'\n"
            "(The library itself, `import slack_batcher`, works without it.)",
            file=sys.stderr,
        )
        sys.exit(EXIT_MISSING_EXTRA)
    cli()


if __name__ == "__main__":
    main()
