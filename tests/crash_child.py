"""The process the crash test kills: it batches messages into a SQLiteStore until SIGKILLed.

``python crash_child.py STORE RUN SEED FD`` reports on file descriptor FD, one line per
``os.write`` (atomic on a pipe), only *after* the call it reports has returned:

* ``A <id>``: the message was accepted (``add_message`` returned);
* ``D <id>,<id>…``: the messages of an outbox entry were "posted"; the ack follows, so a kill
  in between leaves them in the outbox as well (delivered at least once);
* ``F`` / ``f``: a ``flush_expired_batches`` call starts / ends;
* ``P``: it paused in the middle of a flush (some batches flushed, others not) and waits
  for the parent to kill it there;
* ``Q <mode> <sql>``: it paused just before running an SQL statement chosen by the parent
  (see :class:`PausingStore`) and waits for the parent to kill it there.

It runs with ``auto_ack=False``, as the service does: every flush goes to the outbox.
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from slack_batcher import (
    BatchableMessage,
    BatchConfig,
    ContentType,
    ManualClock,
    MessageBatcher,
    SQLiteStore,
)
from slack_batcher.model.batch import BatchGroup
from slack_batcher.store import DeadLetter, OutboxEntry

CHANNELS = 12
KINDS = (ContentType.PR_UPDATE, ContentType.JIRA_UPDATE, ContentType.ALERT)


class PausingStore(SQLiteStore):
    """Pauses where the parent should kill it: mid-flush, or before a chosen SQL statement.

    ``pause_at`` (from the parent) is ``0`` (never), ``s:N`` (before the N-th statement) or
    ``m:M:N`` (before the N-th statement of the M-th *move*: a flush into the outbox or a
    move to the dead letters, the changes that must be atomic).
    """

    def __init__(self, path: str, report: Callable[[str], None], pause_at: str) -> None:
        super().__init__(path)
        self.report = report
        self.pause_after: int | None = None
        mode, *numbers = pause_at.split(":")
        self.mode, self.target = mode, [int(n) for n in numbers]
        self.statements = self.moves = 0
        self.in_move = False
        self._conn.set_trace_callback(self.pause_before)  # type: ignore[union-attr]

    def pause_before(self, sql: str) -> None:
        if self.mode == "s" or (self.in_move and self.moves == self.target[0]):
            self.statements += 1
            if self.statements == self.target[-1]:
                self.report(f"Q {self.mode} " + " ".join(sql.split())[:60])
                time.sleep(60)  # the parent kills us before this statement runs

    def record_flush(self, batch: BatchGroup, entry: OutboxEntry | None) -> None:
        with self.move():
            super().record_flush(batch, entry)
        if self.pause_after is not None:
            self.pause_after -= 1
            if self.pause_after == 0:
                self.report("P")
                time.sleep(60)  # the parent kills us here

    def record_dead_batch(self, batch: BatchGroup, letter: DeadLetter) -> None:
        with self.move():
            super().record_dead_batch(batch, letter)

    def dead_letter_outbox(self, outbox_id: str, letter: DeadLetter) -> bool:
        with self.move():
            return super().dead_letter_outbox(outbox_id, letter)

    @contextmanager
    def move(self) -> Iterator[None]:
        self.moves += 1
        self.in_move = True
        try:
            yield
        finally:
            self.in_move = False


def message(rng: random.Random, message_id: str) -> BatchableMessage:
    kind = rng.choice(KINDS)
    return BatchableMessage(
        id=message_id,
        content_type=kind,
        author=rng.choice(["alice", "bob", "carol"]),
        priority=rng.choice(["low", "medium", "medium", "high"]),
        data={
            "repository": rng.choice(["acme/api", "acme/web"]),
            "title": "x" * rng.randint(0, 300),
        },
    )


class Child:
    """One life of the child: a batcher on the store, driven by a seeded random walk."""

    def __init__(self, path: str, run: int, seed: int, fd: int, pause_at: str) -> None:
        self.run, self.fd = run, fd
        self.rng = random.Random(seed * 1000 + run)
        self.store = PausingStore(path, self.report, pause_at)
        self.clock = ManualClock(datetime(2026, 3, 2, 9, tzinfo=UTC) + timedelta(minutes=20 * run))
        config = BatchConfig(max_channels=8)  # 12 channels: overflow flushes on a side path
        self.batcher = MessageBatcher(config, store=self.store, clock=self.clock, auto_ack=False)
        self.count = 0

    def report(self, line: str) -> None:
        os.write(self.fd, (line + "\n").encode())

    def new_ids(self, n: int) -> list[str]:
        self.count += n
        return [f"r{self.run}-{self.count - n + k}" for k in range(n)]

    def add(self, ids: list[str]) -> None:
        rng = self.rng
        for message_id in ids:
            self.batcher.add_message(message(rng, message_id), f"C{rng.randrange(CHANNELS)}")

    def step(self) -> None:
        rng, batcher = self.rng, self.batcher
        roll = rng.random()
        if roll < 0.75:
            [message_id] = self.new_ids(1)
            self.add([message_id])
            self.report(f"A {message_id}")
        elif roll < 0.80:  # a group commit: accepted only once the block has committed
            group = self.new_ids(rng.randint(2, 20))
            with self.store.transaction():
                self.add(group)
            for message_id in group:
                self.report(f"A {message_id}")
        elif roll < 0.87:
            self.clock.advance(rng.uniform(30, 400))
            if rng.random() < 0.04:
                self.store.pause_after = rng.randint(1, 3)
            self.report("F")
            batcher.flush_expired_batches()
            self.store.pause_after = None
            self.report("f")
        elif roll < 0.97:
            self.deliver(rng.randint(1, 4))
        elif roll < 0.98:
            batcher.cleanup_stale_batches(max_age_hours=0.05)
        else:
            pending = batcher.inspect_pending_batches()["channels"]
            if pending:
                batcher.flush_channel_batches(rng.choice(sorted(pending)))

    def deliver(self, limit: int) -> None:
        for entry in self.batcher.pending_outbox(limit=limit):
            if self.rng.random() < 0.1:
                self.batcher.outbox.dead_letter(entry.id, "channel_not_found", "channel_not_found")
                continue
            self.report("D " + ",".join(m.id for m in entry.messages))
            self.batcher.ack(entry.id)


def main() -> None:
    path, run, seed, fd = sys.argv[1], *map(int, sys.argv[2:5])
    child = Child(path, run, seed, fd, sys.argv[5])
    child.report("S")
    while True:
        child.step()


if __name__ == "__main__":
    main()
