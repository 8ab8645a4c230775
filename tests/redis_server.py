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
from collections.abc import Callable
from pathlib import Path

__all__ = ["RedisSentinel", "RedisServer", "free_port", "shared_server"]

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
                    if conn.recv(16).startswith((b"+PONG", b"-NOAUTH")):  # up (--requirepass)
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


class RedisSentinel:
    """A primary, one replica and one sentinel watching them (service name ``mymaster``).

    ``url`` is the ``redis+sentinel://`` URL of the service; :meth:`failover` promotes the
    replica and waits until the sentinel names it.
    """

    service = "mymaster"

    def __init__(self) -> None:
        self.primary = RedisServer()
        self.replica = RedisServer("--replicaof", "127.0.0.1", str(self.primary.port))
        # Online before the sentinel's first look (it looks again only every 10 s).
        self._wait(lambda: b"state=online" in self.info(self.primary.port, "replication"))
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="sb-sentinel-"))
        config = self.directory / "sentinel.conf"
        config.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndir {self.directory}\n"
            f"sentinel monitor {self.service} 127.0.0.1 {self.primary.port} 1\n"
            f"sentinel down-after-milliseconds {self.service} 1000\n"
            f"sentinel failover-timeout {self.service} 5000\n"
        )
        self.process = subprocess.Popen(
            [REDIS_SERVER, str(config), "--sentinel", "--logfile", str(self.directory / "log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait(lambda: self.master_port() == self.primary.port)
        self._wait(self._replica_known)

    @property
    def url(self) -> str:
        return f"redis+sentinel://127.0.0.1:{self.port}/{self.service}/0"

    def _ask(self, *command: str) -> bytes:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
            parts = [f"${len(p)}\r\n{p}\r\n" for p in command]
            conn.sendall(f"*{len(command)}\r\n{''.join(parts)}".encode())
            time.sleep(0.05)
            return conn.recv(65536)

    @staticmethod
    def info(port: int, section: str) -> bytes:
        """Return ``INFO section`` of the server on *port* (raw reply)."""
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                conn.sendall(f"INFO {section}\r\n".encode())
                time.sleep(0.05)
                return conn.recv(65536)
        except OSError:
            return b""

    def master_port(self) -> int | None:
        try:
            reply = self._ask("SENTINEL", "get-master-addr-by-name", self.service)
        except OSError:
            return None
        lines = reply.split(b"\r\n")
        return int(lines[4]) if len(lines) > 4 and lines[4].isdigit() else None

    def _replica_known(self) -> bool:
        try:
            return str(self.replica.port).encode() in self._ask(
                "SENTINEL", "replicas", self.service
            )
        except OSError:
            return False

    @staticmethod
    def _wait(done: Callable[[], bool], seconds: float = 20) -> None:
        deadline = time.monotonic() + seconds
        while not done():
            if time.monotonic() > deadline:
                raise RuntimeError("the sentinel setup did not settle")
            time.sleep(0.1)

    def failover(self) -> None:
        """Promote the replica; return once the sentinel names it the primary."""

        # The sentinel refuses ("-NOGOODSLAVE") until it has seen the replica's own report,
        # which on a loaded machine can come after it first listed the replica: ask again.
        def promoted() -> bool:
            if self.master_port() == self.replica.port:
                return True
            reply = self._ask("SENTINEL", "failover", self.service)
            return reply.startswith(b"+") and self.master_port() == self.replica.port

        self._wait(promoted, seconds=40)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(5)
        self.replica.close()
        self.primary.close()
        shutil.rmtree(self.directory, ignore_errors=True)
