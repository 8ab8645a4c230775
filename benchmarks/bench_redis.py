"""Redis benchmarks: shared ingest through 1-3 `serve` instances, add and flush latency,
and Redis commands per message.

Each run starts its own redis-server on a free port (no persistence: ``--save ''``,
``--appendonly no``), as the tests do. Figures depend on the machine and its load: the
load average is printed with them; compare rows of one run, not across runs.

* **Ingest through N instances**: N ``slack-batcher serve`` processes share one Redis; N
  client processes each POST 100 events per request to their own instance (20 channels,
  JSONL dry-run sender, pacing off). Aggregate accepted events per second, wall clock,
  best of two runs, and the share of one core the Redis server used meanwhile. On a
  2-core machine the instances, their clients and Redis share the cores: once they are
  busy the figure stops growing (the cores are the limit, not Redis, whose CPU share is
  printed).
* **Add latency**: one ``add_message`` call, p50 / p99, on SQLite (one commit per call),
  on a RedisStore used through the protocol (one batcher), and with shared batches (RedisBatches)
  (placement in Redis: what several instances run).
* **Flush latency**: ``flush_expired_batches`` over 2000 due one-message batches, per
  batch: SQLite vs Redis with claims and delivery leases.
* **Live digest per flush**: one flush into a live digest of 50 / 500 / 1,000 items (the
  store's ``get_digest`` and ``put_digest`` of the record with 5 items more), client CPU
  (``time.process_time``) and wall time per flush, best of 3, on SQLite and on Redis.
* **Round trips per submit**: ``BatchingService.submit`` of 2000 events one at a time
  (shared batches, no flush: batches of up to 1000, a window of 5 minutes), counting the
  client's Redis requests: the placing script and whatever else the submit asks.
* **Commands per message**: Redis's own ``INFO commandstats`` over a shared ingest of 5000
  events and their flushes: script calls (round trips) and commands run inside them.
* **One delivery, one unit**: deliveries of 30 alerts by ``add_many`` and by ``add_unit``
  (``benchmarks/redis_units.py``).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import httpx
from tests.redis_server import RedisServer, free_port

from benchmarks.redis_units import units_table
from benchmarks.workload import make_messages
from slack_batcher import (
    BatchableMessage,
    BatchConfig,
    BatchingService,
    ManualClock,
    MessageBatcher,
    SQLiteStore,
)
from slack_batcher.delivery.jsonl import JsonlSender
from slack_batcher.store.base import BatchStore, DigestRecord
from slack_batcher.store.redis.pending import RedisBatches
from slack_batcher.store.redis.store import RedisStore

SERVE_CONFIG = """
[batching]
max_batch_size = 20
[store]
url = "{url}"
prefix = "{prefix}"
[sender]
kind = "jsonl"
jsonl_path = "{posts}"
[delivery]
pacing = false
[server]
port = {port}
[logging]
level = "WARNING"
"""

REQUESTS_PER_CLIENT = 30
EVENTS_PER_REQUEST = 100


def shared_batcher(
    config: BatchConfig, clock: ManualClock, store: RedisStore, *, auto_ack: bool = True
) -> MessageBatcher:
    """A batcher whose pending batches live in Redis, shared (as ``serve`` builds it)."""
    pending = RedisBatches(store, clock=clock)
    return MessageBatcher(config, clock=clock, store=store, auto_ack=auto_ack, pending=pending)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _time_adds(
    batcher: MessageBatcher, workload: list[tuple[BatchableMessage, str]]
) -> list[float]:
    timings = []
    for message, channel in workload:
        start = time.perf_counter()
        batcher.add_message(message, channel)
        timings.append(time.perf_counter() - start)
    return timings


def latency_table(server: RedisServer, directory: Path) -> None:
    workload = make_messages(5000)
    config = BatchConfig()
    runs = {
        "SQLite NORMAL (one commit per add)": lambda: MessageBatcher(
            config, clock=ManualClock(), store=SQLiteStore(directory / "lat.db"), auto_ack=False
        ),
        "Redis, one batcher (protocol)": lambda: MessageBatcher(
            config,
            clock=ManualClock(),
            store=RedisStore(server.url, prefix=f"lat-{uuid.uuid4().hex}"),
            auto_ack=False,
        ),
        "Redis, shared (placement in Lua)": lambda: shared_batcher(
            config,
            ManualClock(),
            RedisStore(server.url, prefix=f"lat-{uuid.uuid4().hex}"),
            auto_ack=False,
        ),
    }
    print(f"add latency over {len(workload)} events (size flushes included)")
    print(f"  {'store':42} {'p50 µs':>8} {'p99 µs':>8} {'events/s':>9}")
    for name, make in runs.items():
        batcher = make()
        timings = _time_adds(batcher, workload)
        batcher.close()
        p50, p99 = _percentile(timings, 0.5), _percentile(timings, 0.99)
        rate = len(timings) / sum(timings)
        print(f"  {name:42} {p50 * 1e6:8.0f} {p99 * 1e6:8.0f} {rate:9.0f}")


def flush_table(server: RedisServer, directory: Path) -> None:
    batches = 2000
    config = BatchConfig(max_batch_size=5, max_channels=batches + 1)
    print(f"flush_expired_batches over {batches} due one-message batches")
    print(f"  {'store':42} {'per batch µs':>12}")
    makers = {
        "SQLite NORMAL": lambda clock: MessageBatcher(
            config, clock=clock, store=SQLiteStore(directory / "flush.db"), auto_ack=False
        ),
        "Redis, shared (claim + lease)": lambda clock: shared_batcher(
            config,
            clock,
            RedisStore(server.url, prefix=f"fl-{uuid.uuid4().hex}"),
            auto_ack=False,
        ),
    }
    workload = make_messages(batches)
    for name, make in makers.items():
        clock = ManualClock()
        batcher = make(clock)
        for n, (message, _) in enumerate(workload):
            batcher.add_message(message, f"F{n}")  # one batch per channel
        clock.advance(timedelta(minutes=10))
        start = time.perf_counter()
        flushed = batcher.flush_expired_batches()
        seconds = time.perf_counter() - start
        count = sum(len(v) for v in flushed.values())
        batcher.close()
        print(f"  {name:42} {seconds / max(count, 1) * 1e6:12.0f}   ({count} flushed)")


DIGEST_SIZES = (50, 500, 1000)
#: Flushes timed per digest size, each adding DIGEST_FLUSH items (a small batch).
DIGEST_FLUSHES = 10
DIGEST_FLUSH = 5


def _digest_flushes(
    store: BatchStore, size: int, messages: list[BatchableMessage]
) -> tuple[float, float]:
    """Time DIGEST_FLUSHES get+put pairs growing a digest from *size* items; (CPU, wall) s each."""
    key = f"C1\x1fbench:{size}"
    start = size
    when = messages[0].timestamp
    store.put_digest(
        DigestRecord(
            key=key,
            channel_id="C1",
            ts="1772442000.000100",
            created_at=when,
            updated_at=when,
            expires_at=when + timedelta(days=1),
            messages=messages[:start],
            entries=[f"o{n}" for n in range(start // DIGEST_FLUSH)],
        )
    )
    cpu, wall = time.process_time(), time.perf_counter()
    for n in range(DIGEST_FLUSHES):
        record = store.get_digest(key, when)
        assert record is not None and len(record.messages) == start + n * DIGEST_FLUSH
        added = messages[len(record.messages) : len(record.messages) + DIGEST_FLUSH]
        store.put_digest(
            replace(
                record,
                messages=[*record.messages, *added],
                entries=[*record.entries, f"f{n}"],
                replies=record.replies + 1,
            )
        )
    return (
        (time.process_time() - cpu) / DIGEST_FLUSHES,
        (time.perf_counter() - wall) / DIGEST_FLUSHES,
    )


def digest_table(server: RedisServer, directory: Path) -> None:
    messages = [m for m, _ in make_messages(max(DIGEST_SIZES) + DIGEST_FLUSHES * DIGEST_FLUSH)]
    print(
        f"live digest: one flush (get_digest + put_digest, {DIGEST_FLUSH} items added) into a "
        f"digest of N items; µs per flush (client CPU, wall), best of 3"
    )
    print(f"  {'store':28} " + " ".join(f"{f'N={n} cpu':>11} {'wall':>6}" for n in DIGEST_SIZES))
    makers = {
        "SQLite NORMAL": lambda n: SQLiteStore(directory / f"digest-{n}.db"),
        "Redis (RedisStore)": lambda n: RedisStore(server.url, prefix=f"dg-{uuid.uuid4().hex}"),
    }
    for name, make in makers.items():
        cells = []
        for size in DIGEST_SIZES:
            best: tuple[float, float] | None = None
            for run in range(3):
                store = make(f"{size}-{run}")
                try:
                    timing = _digest_flushes(store, size, messages)
                finally:
                    store.close()
                best = (
                    timing if best is None else (min(best[0], timing[0]), min(best[1], timing[1]))
                )
            assert best is not None
            cells.append(f"{best[0] * 1e6:11.0f} {best[1] * 1e6:6.0f}")
        print(f"  {name:28} " + " ".join(cells), flush=True)


async def _submit_requests(
    url: str, directory: Path, count: int
) -> tuple[dict[str, int], float, float]:
    """Submit *count* events one at a time; return the Redis requests by command, CPU, wall s."""
    clock = ManualClock()
    store = RedisStore(url, prefix=f"sub-{uuid.uuid4().hex}")
    batcher = shared_batcher(BatchConfig(max_batch_size=1000), clock, store)
    requests: dict[str, int] = {}
    send = store.client.execute_command

    def counting(*args: object, **options: object) -> object:
        name = str(args[0]).lower()
        requests[name] = requests.get(name, 0) + 1
        return send(*args, **options)

    async with BatchingService(batcher, JsonlSender(directory / "submit.jsonl")) as service:
        await asyncio.sleep(0)  # the deadline task's first look at Redis
        workload = make_messages(count)
        store.client.execute_command = counting  # type: ignore[method-assign]
        cpu, wall = time.process_time(), time.perf_counter()
        for message, channel in workload:
            await service.submit(message, channel)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        store.client.execute_command = send  # type: ignore[method-assign]
    return requests, cpu / count, wall / count


def submit_table(server: RedisServer, directory: Path) -> None:
    count = 2000
    requests, cpu, wall = asyncio.run(_submit_requests(server.url, directory, count))
    total = sum(requests.values())
    print(f"BatchingService.submit of {count} events one at a time (shared batches, no flush)")
    print(f"  Redis round trips per submit: {total / count:.2f}")
    print(f"  µs per submit: {cpu * 1e6:.0f} client CPU, {wall * 1e6:.0f} wall")
    print("  by command: " + ", ".join(f"{k} {v / count:.2f}" for k, v in sorted(requests.items())))


def commands_table(server: RedisServer) -> None:
    import redis

    client = redis.Redis.from_url(server.url, decode_responses=True)
    workload = make_messages(5000)
    clock = ManualClock()
    batcher = shared_batcher(
        BatchConfig(),
        clock,
        RedisStore(server.url, prefix=f"cmd-{uuid.uuid4().hex}"),
        auto_ack=False,
    )
    client.config_resetstat()
    for message, channel in workload:
        batcher.add_message(message, channel)
    clock.advance(timedelta(minutes=10))
    batcher.flush_expired_batches()
    stats = client.info("commandstats")
    batcher.close()
    calls = {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}
    calls.pop("config|resetstat", None)
    calls.pop("info", None)
    scripts = sum(v for k, v in calls.items() if k.startswith(("evalsha", "eval")))
    total = sum(calls.values())
    n = len(workload)
    print(f"Redis commands over a shared ingest of {n} events and their flushes")
    print(f"  script calls (round trips) per message: {scripts / n:.2f}")
    print(f"  commands per message, inside scripts included: {total / n:.1f}")
    top = sorted(calls.items(), key=lambda kv: -kv[1])[:8]
    print("  most run: " + ", ".join(f"{k} {v / n:.1f}" for k, v in top))


def _client(url: str, first: int, ready: object, go: object, done: object) -> None:
    """One load generator: REQUESTS_PER_CLIENT posts of EVENTS_PER_REQUEST events."""
    with httpx.Client(timeout=60) as http:
        bodies = [
            [
                {
                    "id": f"e{first}-{r}-{i}",
                    "channel": f"C{(r * EVENTS_PER_REQUEST + i) % 20}",
                    "content_type": "pr_update",
                    "author": f"dev{i % 5}",
                    "data": {"repository": f"acme/r{i % 3}", "number": i, "title": "t"},
                }
                for i in range(EVENTS_PER_REQUEST)
            ]
            for r in range(REQUESTS_PER_CLIENT)
        ]
        ready.set()  # type: ignore[attr-defined]
        go.wait()  # type: ignore[attr-defined]
        for body in bodies:
            response = http.post(f"{url}/v1/messages", json=body)
            assert response.status_code == 202, response.text
    done.set()  # type: ignore[attr-defined]


def _start_instances(count: int, store_url: str, directory: Path) -> list[tuple[str, object]]:
    prefix = f"ing-{uuid.uuid4().hex}"
    started = []
    for n in range(count):
        port = free_port()
        config = directory / f"serve-{prefix}-{n}.toml"
        config.write_text(
            SERVE_CONFIG.format(
                url=store_url, prefix=prefix, posts=directory / f"posts-{n}.jsonl", port=port
            )
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "slack_batcher.cli", "serve", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append((f"http://127.0.0.1:{port}", process))
    deadline = time.monotonic() + 60
    for url, _ in started:
        while True:
            try:
                if httpx.get(f"{url}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("serve did not start")
            time.sleep(0.05)
    return started


def _redis_cpu(url: str) -> float:
    """Seconds of CPU the Redis server has used (0 for a non-Redis URL)."""
    if not url.startswith("redis://"):
        return 0.0
    import redis

    client = redis.Redis.from_url(url)
    info = client.info("cpu")
    client.close()
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def _ingest(count: int, store_url: str, directory: Path) -> tuple[float, float]:
    """Return (aggregate events/s, share of one core Redis used meanwhile)."""
    instances = _start_instances(count, store_url, directory)
    cpu_before = _redis_cpu(store_url)
    context = multiprocessing.get_context("spawn")
    go = context.Event()
    try:
        clients = []
        for n, (url, _) in enumerate(instances):
            ready, done = context.Event(), context.Event()
            process = context.Process(target=_client, args=(url, n, ready, go, done))
            process.start()
            clients.append((process, ready, done))
        for _, ready, _ in clients:
            ready.wait(60)
        start = time.perf_counter()
        go.set()
        for process, _, done in clients:
            done.wait(300)
            process.join(60)
        seconds = time.perf_counter() - start
        redis_share = (_redis_cpu(store_url) - cpu_before) / seconds
    finally:
        for _, process in instances:
            process.send_signal(signal.SIGTERM)  # type: ignore[attr-defined]
        for _, process in instances:
            process.wait(60)  # type: ignore[attr-defined]
    return count * REQUESTS_PER_CLIENT * EVENTS_PER_REQUEST / seconds, redis_share


def scaling_table(server: RedisServer, directory: Path) -> None:
    per_client = REQUESTS_PER_CLIENT * EVENTS_PER_REQUEST
    print(
        f"ingest through N serve instances: each fed by its own client process "
        f"({per_client} events in requests of {EVENTS_PER_REQUEST}); {os.cpu_count()} CPUs"
    )
    print(f"  {'setup':42} {'events/s':>9} {'vs 1':>6} {'Redis CPU':>10}")
    one = 0.0
    for count in (1, 2, 3):
        rate, share = max(_ingest(count, server.url, directory) for _ in range(2))  # best of 2
        one = one or rate
        label = f"{count} instance{'s' if count > 1 else ''} on one Redis"
        print(f"  {label:42} {rate:9.0f} {rate / one:5.2f}× {share:9.0%}", flush=True)
    sqlite, _ = max(_ingest(1, f"sqlite:///{directory}/ingest-{n}.db", directory) for n in range(2))
    print(f"  {'1 instance on SQLite (reference)':42} {sqlite:9.0f} {sqlite / one:5.2f}×")


#: Sections run by ``python -m benchmarks redis``; BENCH_REDIS=digest,commands picks some.
SECTIONS = ("latency", "flush", "digest", "submit", "commands", "units", "scaling")


def main() -> None:
    chosen = [s for s in os.environ.get("BENCH_REDIS", "").split(",") if s] or list(SECTIONS)
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; redis-server 7, no persistence")
    server = RedisServer()
    try:
        with tempfile.TemporaryDirectory(prefix="sb-bench-redis-") as name:
            directory = Path(name)
            tables = {
                "latency": lambda: latency_table(server, directory),
                "flush": lambda: flush_table(server, directory),
                "digest": lambda: digest_table(server, directory),
                "submit": lambda: submit_table(server, directory),
                "commands": lambda: commands_table(server),
                "units": lambda: units_table(server),
                "scaling": lambda: scaling_table(server, directory),
            }
            for section in SECTIONS:
                if section in chosen:
                    tables[section]()
    finally:
        server.close()
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
