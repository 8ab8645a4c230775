"""kill -9 at random moments loses no accepted message and puts none in two places.

A child process (``crash_child.py``) batches messages into a SQLiteStore and reports each
accepted id through a pipe; the parent SIGKILLs it at random moments (and, some runs, while
it is paused in the middle of a flush), then opens the store itself and checks that every
accepted id is in exactly one place — a pending batch, the outbox or the dead letters — or
was reported delivered. Then it starts the next child on the same file, which recovers.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from slack_batcher import SQLiteStore

CHILD = Path(__file__).with_name("crash_child.py")
KILLS = 24
SEED = 20260302


@dataclass
class Ledger:
    """What the children reported, and what the checks found."""

    accepted: set[str] = field(default_factory=set)
    delivered: set[str] = field(default_factory=set)
    kills: int = 0
    mid_flush_kills: int = 0
    statement_kills: int = 0
    statements: list[str] = field(default_factory=list)
    redeliveries: int = 0
    unreported: int = 0

    def read(self, line: bytes) -> None:
        kind, _, rest = line.decode().rstrip("\n").partition(" ")
        if kind == "A":
            self.accepted.add(rest)
        elif kind == "D":
            self.delivered.update(rest.split(","))


def check_store(path: Path, ledger: Ledger) -> None:
    with SQLiteStore(path) as store:
        state = store.load()
        letters = store.dead_letters()
    places: Counter[str] = Counter()
    where: dict[str, list[str]] = {}
    holders = [
        *((f"batch {b.id}", b.messages) for b in state.batches),
        *((f"outbox {e.id}", e.messages) for e in state.outbox),
        *((f"dead letter {d.id}", d.messages) for d in letters),
    ]
    for holder, messages in holders:
        for message in messages:
            places[message.id] += 1
            where.setdefault(message.id, []).append(holder)
    twice = {i: where[i] for i, n in places.items() if n > 1}
    assert not twice, f"after kill {ledger.kills}: ids in two places: {twice}"
    lost = sorted(i for i in ledger.accepted if not places[i] and i not in ledger.delivered)
    assert not lost, f"after kill {ledger.kills}: {len(lost)} accepted ids lost: {lost[:10]}"
    ledger.redeliveries = sum(1 for i in ledger.delivered if places[i])
    ledger.unreported = sum(1 for i in places if i not in ledger.accepted)


def run_child(path: Path, run: int, rng: random.Random, ledger: Ledger, log: Path) -> None:
    # Most runs pause before a random SQL statement: anywhere, or inside an atomic move.
    move = f"m:{rng.randint(1, 40)}:{rng.randint(1, 7)}"
    pause = rng.choice(["0", f"s:{rng.randint(20, 1500)}", move, move])
    read_end, write_end = os.pipe()
    with log.open("ab") as stderr:
        child = subprocess.Popen(
            [sys.executable, str(CHILD), str(path), str(run), str(SEED), str(write_end), pause],
            pass_fds=(write_end,),
            stderr=stderr,
            env={**os.environ, "PYTHONPATH": str(CHILD.parent.parent / "src")},
        )
    os.close(write_end)
    kill_after = rng.randint(50, 800)  # report lines: a random moment of the run
    seen = 0
    paused = False
    with os.fdopen(read_end, "rb") as reports:
        for line in reports:
            ledger.read(line)
            seen += 1
            paused = line == b"P\n"
            ledger.statement_kills += line.startswith(b"Q ")
            if line.startswith(b"Q "):
                ledger.statements.append(" ".join(line[2:].decode().split()[:2]))
            if paused or line.startswith(b"Q ") or seen >= kill_after:
                child.send_signal(signal.SIGKILL)
                break
        for line in reports:  # what it wrote before dying
            ledger.read(line)
    child.wait()
    assert child.returncode == -signal.SIGKILL, (
        f"child {run} exited with {child.returncode}: {log.read_text()[-2000:]}"
    )
    ledger.kills += 1
    ledger.mid_flush_kills += paused


@pytest.mark.timeout(180)
def test_accepted_messages_survive_repeated_kill_9_each_in_exactly_one_place(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    rng = random.Random(SEED)
    ledger = Ledger()
    for run in range(KILLS):
        run_child(path, run, rng, ledger, tmp_path / "child-stderr.log")
        check_store(path, ledger)

    print(
        f"\ncrash test: {ledger.kills} kills ({ledger.mid_flush_kills} paused mid-flush, "
        f"{ledger.statement_kills} before an SQL statement: {Counter(ledger.statements)}), "
        f"{len(ledger.accepted)} accepted messages, {len(ledger.delivered)} delivered, "
        f"{ledger.redeliveries} still in the outbox after delivery (ack cut off), "
        f"{ledger.unreported} committed but unreported; none lost, none in two places"
    )
    assert ledger.kills >= 20
    assert ledger.mid_flush_kills >= 1
    assert ledger.statement_kills >= 5
    assert len(ledger.accepted) >= 1500
