"""HTTP ingest rate: `POST /v1/messages` of the real service vs a bare FastAPI endpoint.

Each server runs in its own process (uvicorn, one worker) on 127.0.0.1; the load generator
is this process: keep-alive HTTP/1.1 connections on raw asyncio streams (lighter than any
client library, so the servers are what is measured). The real service runs as `serve`
does: bearer token, SQLite store, the runtime, the JSONL dry-run sender (batches of 5 flush
and are "posted"), once with pacing off and once with the default Slack pacing (which this
load outruns, so an outbox backlog builds). The bare endpoint only parses the same body
with the same pydantic model. All get the same requests: one event each, over 20 channels,
unique ids, the same uvicorn settings (h11, asyncio loop, no access log) and the same
garbage-collector set-up as `serve` (``tune_gc``).

The service's rows include delivery (rendering the posts and the live digests' summaries,
in the same process); the "delivery deferred" row (memory store, Slack pacing, so few posts
go out during the run) is the ingest path alone: the like-for-like comparison with bare.
The memory and SQLite rows run three times in turn (the table shows the median round by
rate); their ratio is the median of the rounds', with the range.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import Body, FastAPI

from benchmarks.http_load import (
    cpu_at,
    keep_alive_connection,
    wait_until_listening,
)
from slack_batcher.http.api import EventList
from slack_batcher.http.schemas import MessageIn

TOKEN = "bench-token-0123456789abcdef"
CONNECTIONS = 16
WARMUP_SECONDS = 1.5
MEASURE_SECONDS = 6.0
#: The memory and SQLite rows run this many times, in turn: their ratio is the median round's.
DURABLE_ROUNDS = 3


def _body(connection: int, number: int) -> bytes:
    event = {
        "id": f"bench-{connection}-{number}",
        "channel": f"C{number % 20:03d}",
        "content_type": "pr_update",
        "author": f"dev{connection % 7}",
        "timestamp": "2026-03-02T09:00:00Z",
        "data": {
            "repository": f"acme/repo{number % 20}",
            "number": number,
            "title": f"Change number {number}",
            "action": "opened",
            "url": f"https://github.com/acme/repo{number % 20}/pull/{number}",
        },
    }
    return json.dumps(event).encode()


def _request(body: bytes) -> bytes:
    return (
        b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + TOKEN.encode() + b"\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


def _requests(connection: int) -> Iterator[bytes]:
    """Endless distinct events for one connection (the load stops it by time)."""
    for number in itertools.count(1):
        yield _request(_body(connection, number))


async def _load(port: int, pid: int) -> dict[str, float]:
    latencies: list[float] = []
    start = time.perf_counter()
    measure_from = start + WARMUP_SECONDS
    stop_at = measure_from + MEASURE_SECONDS

    cpu = asyncio.gather(cpu_at(pid, measure_from), cpu_at(pid, stop_at))
    errors = await asyncio.gather(
        *(
            keep_alive_connection(port, _requests(i), stop_at, measure_from, latencies)
            for i in range(CONNECTIONS)
        )
    )
    cpu_from, cpu_to = await cpu
    latencies.sort()
    return {
        # The server's CPU per request is steadier than its rate on a shared machine.
        "cpu_us": (cpu_to - cpu_from) * 1e6 / max(1, len(latencies)),
        "rate": len(latencies) / MEASURE_SECONDS,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "errors": float(sum(errors)),
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start(kind: str, port: int, workdir: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bench_http", "--serve", kind, str(port), str(workdir)],
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    wait_until_listening(process, port, kind)
    return process


def _measure(kind: str, workdir: Path) -> dict[str, float]:
    port = _free_port()
    process = _start(kind, port, workdir)
    try:
        return asyncio.run(_load(port, process.pid))
    finally:
        process.kill()  # a graceful stop would first drain the backlog for up to 30 s
        process.wait(timeout=60)


async def _parse_only(body: Annotated[MessageIn | EventList, Body()]) -> dict[str, int]:
    """The bare endpoint: parse the body with the service's own model, nothing else."""
    return {"accepted": len(body) if isinstance(body, list) else 1}


def _serve(kind: str, port: int, workdir: Path) -> None:
    """Run one server in this (child) process until terminated."""
    import uvicorn

    from slack_batcher.http.server import tune_gc

    app: Any
    if kind == "bare":
        app = FastAPI()
        app.post("/v1/messages", status_code=202)(_parse_only)
    else:
        from slack_batcher.http import create_app
        from slack_batcher.http.server import build_service
        from slack_batcher.http.settings import load_settings

        delivery: dict[str, Any] = {} if kind in ("paced", "ingest") else {"pacing": False}
        if kind == "nogroup":
            delivery["group_commit"] = False
        store = "memory://" if kind in ("memory", "ingest") else f"sqlite:///{workdir}/batches.db"
        settings = load_settings(
            None,
            store={"url": store},
            sender={"kind": "jsonl", "jsonl_path": str(workdir / "posts.jsonl")},
            server={"api_token": TOKEN},
            delivery=delivery,
        )
        app = create_app(build_service(settings), settings=settings.server, manage_service=True)
    tune_gc()  # as `slack-batcher serve` does; the bare endpoint gets the same collector
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def main() -> None:
    """Print both ingest rates, the ratio and p50/p99 latency."""
    print(
        f"POST /v1/messages, one event per request, {CONNECTIONS} keep-alive connections, "
        f"{MEASURE_SECONDS:.0f} s after {WARMUP_SECONDS} s warm-up; servers: uvicorn, 1 process"
    )
    rows = (
        ("bare", "bare FastAPI (parse only)"),
        ("ingest", "serve, memory, delivery deferred"),
        ("memory", "serve, memory store"),
        ("service", "serve, SQLite, group commit"),
        ("nogroup", "serve, SQLite, commit per event"),
        ("paced", "serve, SQLite, Slack pacing"),
    )
    # On a shared machine one pair of rows swings by ±10 points; pairs measured in turn
    # and their median ratio let load noise flip the SQLite / memory verdict far less.
    order = ["bare", "ingest", *["memory", "service"] * DURABLE_ROUNDS, "nogroup", "paced"]
    runs: dict[str, list[dict[str, float]]] = {kind: [] for kind, _ in rows}
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        for number, kind in enumerate(order):
            workdir = Path(tmp) / f"{kind}-{number}"
            workdir.mkdir()
            runs[kind].append(_measure(kind, workdir))
    pairs = list(zip(runs["memory"], runs["service"], strict=True))
    by_rate = sorted(pairs, key=lambda pair: pair[1]["rate"] / pair[0]["rate"])
    by_cpu = sorted(pairs, key=lambda pair: pair[0]["cpu_us"] / pair[1]["cpu_us"])
    results = {kind: found[0] for kind, found in runs.items()}
    results["memory"], results["service"] = by_rate[len(by_rate) // 2]  # the median round
    for kind, label in rows:
        r = results[kind]
        print(
            f"  {label:<32} {r['rate']:>6.0f} req/s  server CPU {r['cpu_us']:5.0f} µs/req   "
            f"p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  non-202: {r['errors']:.0f}"
        )
    ingest = results["ingest"]["rate"] / results["bare"]["rate"]
    ingest_cpu = results["bare"]["cpu_us"] / results["ingest"]["cpu_us"]
    print(
        f"  ingest alone (memory store, delivery deferred) / bare: {ingest:.0%} by rate, "
        f"{ingest_cpu:.0%} by server CPU (goal ≥ 60%)"
    )
    ratio = results["service"]["rate"] / results["bare"]["rate"]
    cpu_ratio = results["bare"]["cpu_us"] / results["service"]["cpu_us"]
    rates = [service["rate"] / memory["rate"] for memory, service in by_rate]
    cpus = [memory["cpu_us"] / service["cpu_us"] for memory, service in by_cpu]
    print(
        f"  service (SQLite) / bare: {ratio:.0%} by rate, {cpu_ratio:.0%} by server CPU "
        f"(delivery included)\n"
        f"  SQLite / memory store, median of {DURABLE_ROUNDS} rounds: "
        f"{rates[len(rates) // 2]:.0%} by rate ({rates[0]:.0%}–{rates[-1]:.0%}), "
        f"{cpus[len(cpus) // 2]:.0%} by CPU ({cpus[0]:.0%}–{cpus[-1]:.0%}) (goal ≥ 80%)   "
        f"cores: {os.cpu_count()}, load: {_load_average()}"
    )
    print(
        "  Delivery runs in the same process: pacing off, the JSONL sink takes every post at "
        "once. With Slack's pacing (5 posts/s per workspace) this load builds an outbox "
        "backlog: that row is the service's cost while posts queue up behind the pace."
    )


def _load_average() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:  # pragma: no cover - not on every platform
        return "unknown"


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--serve":
        _serve(sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]))
    else:
        main()
