"""Ours beside the original DevSync batcher on a realistic mix (``benchmarks/mix.py``).

``DEVSYNC_ORIGINAL=<dir> python -m benchmarks compat`` runs both in this process, in paired
rounds (ours, then the original, then the next round in the other order), and prints the
median time of each side and the median of the per-round ratios: load from other processes
slows both sides of a round alike. Without the variable only our figures are printed.

Both sides get the default config and the same 20,000 events over 50 channels; every
message a batcher returns is serialised with ``to_dict()`` as a sender would. Memory is
traced bytes per pending message (messages included) at 2,000 channels, and at 50 channels
with batches never full.
"""

from __future__ import annotations

import gc
import os
import statistics
import time
from collections.abc import Callable
from datetime import datetime
from types import ModuleType
from typing import Any

from benchmarks.bench_core import MEMORY_LAYOUTS, bytes_per_message, run_constructing
from benchmarks.mix import make_mix_kwargs
from benchmarks.original import load
from benchmarks.workload import T0
from slack_batcher import (
    BatchableMessage,
    BatchConfig,
    ManualClock,
    MessageBatcher,
    SlackMessageFormatterFactory,
)

Raw = list[tuple[dict[str, Any], str]]
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))


def original_raw(module: ModuleType, raw: Raw, start: datetime) -> Raw:
    """The original's BatchableMessage arguments for *raw*: naive times from *start*.

    Its JIRA items read ``status["name"]``; its windows run on the naive wall clock, so
    times keep their spacing but start now: nothing falls due during a run.
    """
    out: Raw = []
    for kwargs, channel in raw:
        data = kwargs["data"]
        if isinstance(data.get("status"), str) and kwargs["content_type"].value == "jira_update":
            data = {**data, "status": {"name": data["status"]}}
        out.append(
            (
                {
                    **kwargs,
                    "content_type": module.ContentType(kwargs["content_type"].value),
                    "timestamp": start + (kwargs["timestamp"] - T0),
                    "data": data,
                },
                channel,
            )
        )
    return out


def _feed(batcher: Any, pairs: list[tuple[Any, str]]) -> float:
    """Add every message, serialise what comes back, flush the rest; return CPU seconds."""
    start = time.process_time()
    for message, channel in pairs:
        ready = batcher.add_message(message, channel)
        if ready is not None:
            ready.to_dict()
    flushed = batcher.flush_all_batches()
    pages = flushed if isinstance(flushed, list) else [m for ms in flushed.values() for m in ms]
    for ready in pages:
        ready.to_dict()
    return time.process_time() - start


Case = tuple[str, Callable[[], float], Callable[[], float] | None, float]


def _cases(original: ModuleType | None) -> list[Case]:
    raw = make_mix_kwargs()
    built = [(BatchableMessage(**kwargs), channel) for kwargs, channel in raw]

    def ours_default() -> float:
        return _feed(MessageBatcher(BatchConfig(), clock=ManualClock()), built)

    def ours_factory() -> float:
        factory = SlackMessageFormatterFactory()
        return _feed(MessageBatcher(BatchConfig(), factory, clock=ManualClock()), built)

    def ours_building() -> float:
        batcher = MessageBatcher(BatchConfig(), clock=ManualClock())
        return run_constructing(batcher, BatchableMessage, raw)

    theirs_default: Callable[[], float] | None = None
    theirs_building: Callable[[], float] | None = None
    if original is not None:
        module = original

        def theirs_default() -> float:
            pairs = [
                (module.BatchableMessage(**kwargs), channel)
                for kwargs, channel in original_raw(module, raw, datetime.now())
            ]
            return _feed(module.MessageBatcher(module.BatchConfig()), pairs)

        def theirs_building() -> float:
            their_raw = original_raw(module, raw, datetime.now())
            batcher = module.MessageBatcher(module.BatchConfig())
            return run_constructing(batcher, module.BatchableMessage, their_raw)

    return [
        ("add, messages built beforehand, default formatter", ours_default, theirs_default, 2.5),
        ("add with SlackMessageFormatterFactory", ours_factory, theirs_default, 2.0),
        ("build the message + add", ours_building, theirs_building, 2.0),
    ]


def _paired(ours: Callable[[], float], theirs: Callable[[], float] | None) -> tuple[float, ...]:
    """Median of each side and median of per-round ratios (theirs / ours) over ROUNDS rounds."""
    mine: list[float] = []
    other: list[float] = []
    ratios: list[float] = []
    for n in range(ROUNDS):
        order = [ours, theirs] if n % 2 == 0 else [theirs, ours]
        times: dict[int, float] = {}
        for run in order:
            if run is None:
                continue
            gc.collect()
            times[id(run)] = run()
        mine.append(times[id(ours)])
        if theirs is not None:
            other.append(times[id(theirs)])
            ratios.append(times[id(theirs)] / times[id(ours)])
    if theirs is None:
        return statistics.median(mine), float("nan"), float("nan"), float("nan")
    return (
        statistics.median(mine),
        statistics.median(other),
        statistics.median(ratios),
        min(ratios),
    )


def _pending_ours(raw: Raw) -> Callable[[MessageBatcher], int]:
    def add(batcher: MessageBatcher) -> int:
        for kwargs, channel in raw:  # flushed batches are dropped, as if posted
            batcher.add_message(BatchableMessage(**kwargs), channel)
        return int(batcher.get_batch_stats()["messages_pending"])

    return add


def _pending_theirs(module: ModuleType, raw: Raw) -> Callable[[Any], int]:
    def add(batcher: Any) -> int:
        for kwargs, channel in original_raw(module, raw, datetime.now()):
            batcher.add_message(module.BatchableMessage(**kwargs), channel)
        groups = batcher._channel_batch_groups.values()  # it has no pending-count API
        return sum(len(g.messages) for c in groups for g in c.values())

    return add


def _memory(original: ModuleType | None) -> list[tuple[str, float, float]]:
    rows: list[tuple[str, float, float]] = []
    for label, config, their_config, channels in MEMORY_LAYOUTS:
        raw = make_mix_kwargs(channels=channels, seed=11)
        mine = bytes_per_message(
            lambda config=config: MessageBatcher(config(), clock=ManualClock()),
            _pending_ours(raw),
        )
        other = float("nan")
        if original is not None:
            other = bytes_per_message(
                lambda m=original, c=their_config: m.MessageBatcher(m.BatchConfig(**c)),
                _pending_theirs(original, raw),
            )
        rows.append((f"bytes/pending msg, {label}", mine, other))
    return rows


def main() -> None:
    """Print the realistic mix's figures, ours beside the original's when configured."""
    original = load(quiet=True)
    print(
        f"realistic mix, 20k events / 50 channels, {ROUNDS} paired rounds (median)\n"
        f"{'':50s} {'ours':>8s} {'original':>9s} {'ratio':>6s} {'worst':>6s}  goal"
    )
    for label, ours, theirs, goal in _cases(original):
        mine, other, ratio, worst = _paired(ours, theirs)
        n = 20_000
        if theirs is None:
            print(f"{label:50s} {mine * 1e6 / n:>8.2f} {'-':>9s}  µs/msg")
            continue
        verdict = "met" if ratio >= goal else "NOT met"
        print(
            f"{label:50s} {mine * 1e6 / n:>8.2f} {other * 1e6 / n:>9.2f} {ratio:>5.2f}x"
            f" {worst:>5.2f}x  >= {goal}x {verdict} (µs/msg)"
        )
    for label, mine_b, other_b in _memory(original):
        if original is None:
            print(f"{label:50s} {mine_b:>8.0f} {'-':>9s}  B")
            continue
        ratio = mine_b / other_b
        verdict = "met" if ratio <= 0.8 else "NOT met"
        print(
            f"{label:50s} {mine_b:>8.0f} {other_b:>9.0f} {ratio:>5.2f}x"
            f" {'':>6s}  <= 0.8x {verdict} (B)"
        )
    if original is None:
        print("(set DEVSYNC_ORIGINAL=<dir> to run the original DevSync batcher beside ours)")


if __name__ == "__main__":
    main()
