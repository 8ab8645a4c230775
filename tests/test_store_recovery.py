"""Restarting a MessageBatcher on a SQLiteStore: what was pending, flushed or dead comes back."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from slack_batcher import BatchConfig, ManualClock, MessageBatcher, SQLiteStore
from tests.factories import alert, jira, pr


def start(path: Path, clock: ManualClock, **kwargs: object) -> MessageBatcher:
    return MessageBatcher(store=SQLiteStore(path), clock=clock, **kwargs)  # type: ignore[arg-type]


def ids(messages: object) -> list[str]:
    return [i for m in messages for i in m.metadata["message_ids"]]  # type: ignore[attr-defined]


def test_a_batch_due_while_down_flushes_on_the_first_check_after_start(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "store.db"
    batcher = start(path, clock)
    batcher.add_message(pr("gh-1"), "C1")
    batcher.add_message(pr("gh-2", number=43), "C1")
    batcher.close()

    clock.advance(timedelta(minutes=30))  # the process was down past the window
    restarted = start(path, clock)

    assert restarted.get_batch_stats()["messages_pending"] == 2
    assert ids(restarted.flush_expired_batches()["C1"]) == ["gh-1", "gh-2"]
    restarted.close()


def test_a_batch_not_yet_due_keeps_its_original_deadline(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "store.db"
    batcher = start(path, clock)
    batcher.add_message(pr("gh-1"), "C1")
    due = batcher.next_due_at()
    batcher.close()

    clock.advance(120)
    restarted = start(path, clock)

    assert restarted.next_due_at() == due
    assert restarted.flush_expired_batches() == {}
    clock.advance(179)
    assert restarted.flush_expired_batches() == {}
    clock.advance(1)
    assert ids(restarted.flush_expired_batches()["C1"]) == ["gh-1"]
    restarted.close()


def test_messages_arriving_after_a_restart_join_the_recovered_batch(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "store.db"
    batcher = start(path, clock)
    batcher.add_message(pr("gh-1"), "C1")
    batcher.close()

    restarted = start(path, clock)
    restarted.add_message(pr("gh-1"), "C1")  # still pending: a duplicate
    restarted.add_message(pr("gh-2", number=43), "C1")

    inspected = restarted.inspect_pending_batches("C1")
    assert inspected["total_batches"] == 1
    assert [i["id"] for i in inspected["channels"]["C1"]["batches"][0]["items"]] == [
        "gh-1",
        "gh-2",
    ]
    assert restarted.get_batch_stats()["duplicates"] == 1
    restarted.close()


def test_undelivered_posts_come_back_from_the_outbox(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "store.db"
    batcher = start(path, clock, auto_ack=False)
    for n in range(5):
        batcher.add_message(pr(f"gh-{n}", number=n), "C1")  # the fifth flushes by size
    batcher.add_message(jira("j-1"), "C2")
    batcher.flush_all_batches()
    [first, _] = batcher.pending_outbox()
    batcher.ack(first.id)
    batcher.close()

    restarted = start(path, clock, auto_ack=False)

    [left] = restarted.pending_outbox()
    assert restarted.outbox.size() == 1
    assert (left.channel_id, [m.id for m in left.messages]) == ("C2", ["j-1"])
    assert restarted.ack(left.id) is True
    restarted.close()
    assert start(path, clock, auto_ack=False).outbox.size() == 0


def test_dead_letters_survive_and_can_be_replayed_after_a_restart(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "store.db"
    batcher = start(path, clock, auto_ack=False)
    batcher.add_message(alert("a-1"), "C9")
    batcher.flush_all_batches()
    [entry] = batcher.pending_outbox()
    batcher.outbox.dead_letter(entry.id, "channel_not_found: bot removed", "channel_not_found")
    batcher.close()

    restarted = start(path, clock, auto_ack=False)
    [letter] = restarted.dead_letters("C9")
    assert (letter.error_code, [m.id for m in letter.messages]) == ("channel_not_found", ["a-1"])

    assert restarted.replay_dead_letter(letter.id) == 1
    restarted.close()
    again = start(path, clock, auto_ack=False)
    assert again.dead_letters() == []
    assert again.get_batch_stats()["messages_pending"] == 1
    again.close()


def test_the_thread_map_survives_a_restart(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "store.db"
    store = SQLiteStore(path)
    store.set_thread("C1:acme/api#42", "1767225600.000100", clock.now() + timedelta(days=1))
    store.close()

    reopened = SQLiteStore(path)
    assert reopened.get_thread("C1:acme/api#42", clock.now()) == "1767225600.000100"
    reopened.close()


def test_stale_batches_dead_lettered_before_a_restart_stay_dead_lettered(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "store.db"
    batcher = start(path, clock, config=BatchConfig(max_batch_age_minutes=60 * 48))
    batcher.add_message(pr("gh-1"), "C1")
    clock.advance(timedelta(hours=25))
    assert batcher.cleanup_stale_batches(max_age_hours=24) == 1
    batcher.close()

    restarted = start(path, clock)
    assert restarted.get_batch_stats()["messages_pending"] == 0
    assert [m.id for d in restarted.dead_letters() for m in d.messages] == ["gh-1"]
    restarted.close()


def test_recovered_messages_are_counted_as_recovered_not_batched_again(
    tmp_path: Path, clock: ManualClock
) -> None:
    first = MessageBatcher(clock=clock, store=SQLiteStore(tmp_path / "s.db"))
    first.add_message(pr("gh-1"), "C1")
    first.add_message(pr("gh-2"), "C1")
    first.close()
    again = MessageBatcher(clock=clock, store=SQLiteStore(tmp_path / "s.db"))
    stats = again.get_batch_stats()
    assert (stats["messages_batched"], stats["messages_recovered"]) == (0, 2)
    assert (stats["batches_created"], stats["batches_recovered"]) == (0, 1)
    assert stats["messages_pending"] == 2
    again.close()
