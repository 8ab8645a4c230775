"""Shared load-generation pieces for the HTTP benchmarks (bench_http, bench_sources).

Raw keep-alive HTTP/1.1 over asyncio streams: a client library would cost more than the
servers being compared. Server CPU is read from /proc, which is steadier than the rate on a
shared machine.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path


async def keep_alive_connection(
    port: int,
    requests: Iterable[bytes],
    stop_at: float,
    measure_from: float,
    latencies: list[float],
) -> int:
    """Send *requests* one at a time on one connection until *stop_at*; return non-202 count.

    Latencies of requests started after *measure_from* are appended to *latencies*.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    errors = 0
    try:
        for request in requests:
            started = time.perf_counter()
            if started >= stop_at:
                break
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 202"):
                errors += 1
            if started >= measure_from:
                latencies.append(time.perf_counter() - started)
    finally:
        writer.close()
        await writer.wait_closed()
    return errors


def cpu_seconds(pid: int) -> float:
    """Return the CPU time (user + system) process *pid* used so far; NaN if unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def cpu_at(pid: int, moment: float) -> float:
    """Return process *pid*'s CPU time read at ``time.perf_counter()`` == *moment*."""
    await asyncio.sleep(max(0.0, moment - time.perf_counter()))
    return cpu_seconds(pid)


def wait_until_listening(process: subprocess.Popen[bytes], port: int, name: str) -> None:
    """Return once *process* accepts connections on *port*; raise with its stderr if it died."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if process.poll() is not None:
                detail = process.stderr.read().decode() if process.stderr else name
                raise RuntimeError(detail) from None
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"{name} server did not start")
