"""The ``units`` section of ``python -m benchmarks redis``: one delivery, one unit, shared.

Deliveries of 30 alerts (one Alertmanager notification each: one alertname, 30 instances),
20 channels, the seed's ``max_batch_size`` of 5, shared batches (RedisBatches), the outbox
written (``auto_ack=False``, as ``serve`` runs). Each delivery is added

* with ``add_many``: one ``place`` script per alert, a hundred per pipelined round trip,
  every fifth alert filling and flushing a batch (what ``add_unit`` did on Redis before the
  ``place_unit`` script), and
* with ``add_unit``: one ``place_unit`` script for the whole delivery, then one flush.

Per delivery: wall and client CPU (µs), the Redis round trips the client made, the script
time Redis spent (``INFO commandstats``, µs) and the posts it became.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import timedelta

import redis
from tests.redis_server import RedisServer

from slack_batcher import BatchableMessage, BatchConfig, ContentType, ManualClock, MessageBatcher
from slack_batcher.store.redis.pending import RedisBatches
from slack_batcher.store.redis.store import RedisStore

__all__ = ["units_table"]

DELIVERIES = 200
ALERTS = 30
CHANNELS = 20

Delivery = list[tuple[BatchableMessage, str]]


def deliveries(tag: str) -> list[Delivery]:
    """Return DELIVERIES notifications of ALERTS alerts, each into one of CHANNELS channels."""
    out = []
    for d in range(DELIVERIES):
        channel = f"U{d % CHANNELS:02d}"
        out.append(
            [
                (
                    BatchableMessage(
                        id=f"{tag}-{d}-{i}",
                        content_type=ContentType.ALERT,
                        priority="high",
                        data={
                            "alertname": f"HighErrorRate{d % 7}",
                            "service": "api",
                            "instance": f"api-{i:02d}",
                            "severity": "warning",
                            "summary": f"error rate above 5% on api-{i:02d}",
                        },
                    ),
                    channel,
                )
                for i in range(ALERTS)
            ]
        )
    return out


def _run(
    server: RedisServer, add: Callable[[MessageBatcher, Delivery], object], tag: str
) -> dict[str, float]:
    clock = ManualClock()
    store = RedisStore(server.url, prefix=f"unit-{uuid.uuid4().hex}")
    batcher = MessageBatcher(
        BatchConfig(),
        clock=clock,
        store=store,
        auto_ack=False,
        pending=RedisBatches(store, clock=clock),
    )
    work = deliveries(tag)
    requests = 0
    send = store.call  # every request of the store: a script, a pipeline, a command

    def counting(*args: object, **options: object) -> object:
        nonlocal requests
        requests += 1
        return send(*args, **options)

    monitor = redis.Redis.from_url(server.url, decode_responses=True)
    monitor.config_resetstat()
    store.call = counting  # type: ignore[method-assign]
    cpu, wall = time.process_time(), time.perf_counter()
    for delivery in work:
        add(batcher, delivery)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    store.call = send  # type: ignore[method-assign]
    stats = monitor.info("commandstats")
    script_us = sum(int(v["usec"]) for k, v in stats.items() if k.startswith("cmdstat_evalsha"))
    pipelined = int(stats.get("cmdstat_evalsha", {}).get("calls", 0))
    posts = batcher.outbox.size()
    clock.advance(timedelta(minutes=10))
    batcher.flush_expired_batches()  # what is left over: due at the window
    left = batcher.outbox.size() - posts
    batcher.close()
    monitor.close()
    n = len(work)
    return {
        "wall": wall / n * 1e6,
        "cpu": cpu / n * 1e6,
        "trips": requests / n,
        "scripts": pipelined / n,
        "script_us": script_us / n,
        "posts": posts / n,
        "left": left / n,
    }


def units_table(server: RedisServer) -> None:
    """Print the add_many / add_unit rows (see the module docstring)."""
    print(
        f"one delivery of {ALERTS} alerts on shared batches (max_batch_size 5, "
        f"{DELIVERIES} deliveries over {CHANNELS} channels), per delivery"
    )
    header = (
        f"  {'added with':34} {'wall µs':>8} {'cpu µs':>7} {'trips':>6} {'scripts':>7} "
        f"{'Redis µs':>8} {'posts':>6}"
    )
    print(header)
    runs = {
        "add_many (a place per alert)": lambda b, d: b.add_many(d),
        "add_unit (one place_unit script)": lambda b, d: b.add_unit(d),
    }
    for name, add in runs.items():
        f = _run(server, add, name.split()[0])
        print(
            f"  {name:34} {f['wall']:8.0f} {f['cpu']:7.0f} {f['trips']:6.1f} "
            f"{f['scripts']:7.1f} {f['script_us']:8.0f} {f['posts']:6.1f}"
            + (f"  (+{f['left']:.1f} at the window)" if f["left"] else "")
        )
