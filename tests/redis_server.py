"""A private redis-server for the tests: started on a free port, in a temporary directory.

Nothing persists (``--save ''``, ``--appendonly no``); the server is stopped when the test
session ends. A missing ``redis-server`` is an error, never a skip: ``make test`` installs it
(scripts/system-deps.sh).
"""

from __future__ import annotations

import atexit
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["RedisServer", "free_port", "shared_server"]

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """One redis-server process; ``url`` points at it."""

    def __init__(self, *extra: str) -> None:
        if not Path(REDIS_SERVER).exists():
            raise RuntimeError(
                "redis-server is not installed: run `make system-deps` "
                "(apt-get install redis-server)"
            )
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="sb-redis-"))
        self.extra = extra
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        options = {
            "--port": str(self.port),
            "--bind": "127.0.0.1",
            "--save": "",
            "--appendonly": "no",
            "--dir": str(self.directory),
            "--logfile": str(self.directory / "redis.log"),
        }
        self.process = subprocess.Popen(
            [REDIS_SERVER, *(part for item in options.items() for part in item), *self.extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


_shared: RedisServer | None = None


def shared_server() -> RedisServer:
    """Return the session's redis-server, starting it on first use."""
    global _shared
    if _shared is None:
        _shared = RedisServer()
        atexit.register(_shared.close)
    return _shared
