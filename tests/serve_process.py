"""``slack-batcher serve`` as a real process: its command, a clean environment, readiness."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

__all__ = ["clean_env", "serve_command", "wait_ready"]


def serve_command(config: Path, *args: str) -> list[str]:
    """Return the command that runs ``slack-batcher serve`` with the file *config*."""
    return [sys.executable, "-m", "slack_batcher.cli", "serve", "--config", str(config), *args]


def clean_env() -> dict[str, str]:
    """Return this environment without any ``SLACK_*`` variable (the test sets its own)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}


def wait_ready(url: str, process: subprocess.Popen[Any], deadline: float) -> None:
    """Wait until the serve *process* at *url* answers ``/readyz`` (by ``time.monotonic``)."""
    while True:
        try:
            if httpx.get(f"{url}/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, process.communicate()[1] or "serve exited early"
        assert time.monotonic() < deadline, "serve did not become ready"
        time.sleep(0.05)
