"""A batch flushed before its due time (full, urgent) is released, messages and all."""

from __future__ import annotations

import gc
import tracemalloc

from slack_batcher import BatchableMessage, BatchConfig, ContentType, ManualClock, MessageBatcher


def _held_after(batcher: MessageBatcher, count: int) -> int:
    """Traced bytes still held after *count* 4 kB messages were added and flushed."""
    gc.collect()
    tracemalloc.start()
    try:
        for n in range(count):
            message = BatchableMessage(
                id=f"m{n}",
                content_type=ContentType.ALERT,
                data={"alertname": f"Alert {n}", "description": f"{n:04d}" * 1000},
            )
            assert batcher.add_message(message, f"C{n % 50}") is not None  # flushed at once
        gc.collect()
        return tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()


def test_batches_flushed_by_size_do_not_pile_up_until_their_due_time() -> None:
    clock = ManualClock()  # never moves: no batch falls due during the test
    batcher = MessageBatcher(BatchConfig(max_batch_size=1), clock=clock)
    held = _held_after(batcher, 2_000)
    # 2,000 messages of 4 kB went through; holding them would be over 8 MB.
    assert held < 1_500_000, held
    assert batcher.get_batch_stats()["messages_pending"] == 0


def test_a_waiting_batch_still_falls_due_after_many_others_left_early() -> None:
    clock = ManualClock()
    batcher = MessageBatcher(BatchConfig(max_batch_size=2), clock=clock)

    def add(n: int, channel: str) -> None:
        message = BatchableMessage(id=f"m{n}", content_type=ContentType.ALERT, data={"n": n})
        batcher.add_message(message, channel)

    add(0, "C-waiting")
    clock.advance(10)
    for n in range(1, 1001):  # 500 batches open and flush at once, full
        add(n, "C-busy")
    add(1001, "C-late")
    clock.advance(289)
    assert batcher.flush_expired_batches() == {}
    clock.advance(1)
    due = batcher.flush_expired_batches()
    assert list(due) == ["C-waiting"] and due["C-waiting"][0].metadata["message_ids"] == ["m0"]
    clock.advance(10)
    assert list(batcher.flush_expired_batches()) == ["C-late"]
    assert batcher.get_batch_stats()["messages_pending"] == 0
