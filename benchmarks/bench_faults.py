"""Hostile clients: type confusion in signed payloads, slow bodies, running out of descriptors.

`python -m benchmarks faults` prints, side by side where there is a before:

1. every field of every sample payload (23 real samples, 838 fields and list elements)
   replaced by each of -1, 1.5, true, null, [], {}, "x" (5,866 payloads) through the
   adapters: how many were adapted, refused naming the field, or crashed (must be 0);
2. what the pydantic shape check costs per delivery (adapters with and without it);
3. a real ``serve`` process (default limits, SQLite) under ``ulimit -n 256`` and 600
   connections trickling a body 1 byte/s for 40 s: how long until each is closed, how many
   bytes the log grew, and whether /readyz answered meanwhile. Before the fix: every
   connection held forever, /readyz timed out, the log grew 202 MB in 10 s.
"""

from __future__ import annotations

import contextlib
import json
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from tests.test_sources_type_confusion import MUTATIONS, SAMPLES, dotted, names_the_field, replaced

from slack_batcher.sources import ADAPTERS, PayloadError, shapes

CLIENTS = 600
TRICKLE_SECONDS = 40.0


def confusion_counts() -> dict[str, int]:
    """Adapt every mutation; count adapted / refused naming the field / anything else."""
    counts = {"adapted or ignored": 0, "400 naming the field": 0, "other error (a 5xx)": 0}
    for number, path, value in MUTATIONS:
        source, event, payload = SAMPLES[number]
        try:
            ADAPTERS[source](replaced(payload, path, value), {"X-GitHub-Event": event})
        except PayloadError as exc:
            key = "400 naming the field" if names_the_field(exc.field, path) else "other"
            counts[key if key != "other" else "other error (a 5xx)"] += 1
            if key == "other":
                print(f"  names {exc.field!r} for {dotted(path)}")
        except Exception as exc:
            counts["other error (a 5xx)"] += 1
            print(f"  {dotted(path)} = {value!r}: {type(exc).__name__}: {exc}")
        else:
            counts["adapted or ignored"] += 1
    return counts


def adapt_cost(rounds: int = 300) -> tuple[float, float]:
    """Microseconds per sample delivery adapted, with and without the shape check."""

    def run() -> float:
        started = time.perf_counter()
        for _ in range(rounds):
            for source, event, payload in SAMPLES:
                ADAPTERS[source](payload, {"X-GitHub-Event": event})
        return (time.perf_counter() - started) / (rounds * len(SAMPLES)) * 1e6

    import slack_batcher.sources.alertmanager as am
    import slack_batcher.sources.github as gh
    import slack_batcher.sources.jira as jira

    checked = min(run() for _ in range(3))
    modules: list[Any] = [am, gh, jira]
    saved = [module.check for module in modules]
    try:
        for module in modules:
            module.check = lambda shape, payload: None
        unchecked = min(run() for _ in range(3))
    finally:
        for module, check in zip(modules, saved, strict=True):
            module.check = check
    assert shapes.check is saved[0]
    return checked, unchecked


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))


def slow_clients() -> dict[str, Any]:
    """600 trickling bodies against a serve process with default limits under ulimit -n 256."""
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        config = folder / "serve.toml"
        config.write_text(
            f'[store]\nurl = "sqlite:///{folder / "s.db"}"\n[server]\nport = {port}\n'
            f'[sender]\nkind = "jsonl"\njsonl_path = "{folder / "posts.jsonl"}"\n'
        )
        log = folder / "serve.log"
        with log.open("w") as handle:
            process = subprocess.Popen(
                [sys.executable, "-m", "slack_batcher.cli", "serve", "--config", str(config)],
                stderr=handle,
                preexec_fn=_limit,
                cwd=folder,
            )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            start_log = log.stat().st_size
            return _trickle(port, base, log, start_log)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _trickle(port: int, base: str, log: Path, start_log: int) -> dict[str, Any]:
    head = (
        b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100000\r\n\r\n{"
    )
    conns: dict[socket.socket, float] = {}
    refused = 0
    started = time.monotonic()
    for _ in range(CLIENTS):
        try:
            conn = socket.create_connection(("127.0.0.1", port), timeout=2)
            conn.sendall(head)
            conn.setblocking(False)
            conns[conn] = time.monotonic()
        except OSError:
            refused += 1
    closed_after: list[float] = []
    answers: dict[str, int] = {}
    ready: list[float] = []
    while conns and time.monotonic() - started < TRICKLE_SECONDS:
        tick = time.monotonic()
        for conn, opened in list(conns.items()):
            try:
                data = conn.recv(4096)
            except BlockingIOError:
                data = None
            except OSError:
                data = b""
            if data is not None:  # an answer, or closed
                status = data[9:12].decode(errors="replace") if data else "closed"
                answers[status] = answers.get(status, 0) + 1
                closed_after.append(time.monotonic() - opened)
                conn.close()
                del conns[conn]
                continue
            with contextlib.suppress(OSError):
                conn.send(b" ")
        try:
            began = time.monotonic()
            httpx.get(f"{base}/readyz", timeout=5)
            ready.append(time.monotonic() - began)
        except httpx.TransportError:
            ready.append(float("inf"))
        time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
    held = len(conns)
    for conn in conns:
        conn.close()
    return {
        "connected": CLIENTS - refused,
        "held open at the end": held,
        "answers": answers,
        "slowest closed after s": max(closed_after, default=0.0),
        "readyz slowest s": max(ready, default=0.0),
        "log grew bytes": log.stat().st_size - start_log,
        "tracebacks in log": log.read_text(errors="replace").count("Traceback"),
    }


def main() -> None:
    """Print the figures."""
    total = len(MUTATIONS)
    print(f"type confusion: {len(SAMPLES)} samples, {total} payloads (7 values per field)")
    for name, count in confusion_counts().items():
        print(f"  {name:<24} {count:>6}")
    checked, unchecked = adapt_cost()
    print(
        f"adapt one delivery:  with shape check {checked:7.1f} µs   without {unchecked:7.1f} µs"
        f"   (+{checked - unchecked:.1f} µs)"
    )
    print(
        f"{CLIENTS} bodies trickling 1 byte/s, ulimit -n 256, default limits, "
        f"{TRICKLE_SECONDS:.0f} s:"
    )
    print("  before the fix: all held open, /readyz timed out, log +202 MB in 10 s")
    for name, value in slow_clients().items():
        shown = f"{value:.1f}" if isinstance(value, float) else json.dumps(value)
        print(f"  {name:<24} {shown}")
