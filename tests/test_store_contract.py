"""The BatchStore contract, run over every store kind (``store_factory`` in conftest).

``store_factory()`` called again reopens the same state, as a restart would. Assertions on
pending batches surviving a reopen apply to durable stores only (``store.durable``): the
memory store keeps batches in the batcher itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from slack_batcher import BatchGroup, BatchType, SlackMessage
from slack_batcher.model.progress import DeliveryProgress, DigestPlan, DigestStep
from slack_batcher.store import BatchStore, DeadLetter, OutboxEntry
from tests.factories import T0, alert, jira, pr

StoreFactory = Callable[[], BatchStore]


def new_batch(batch_id: str, channel_id: str = "C1", minutes: float = 0) -> BatchGroup:
    opened = T0 + timedelta(minutes=minutes)
    return BatchGroup(
        id=batch_id,
        channel_id=channel_id,
        batch_type=BatchType.PR_ACTIVITY,
        created_at=opened,
        expires_at=opened + timedelta(minutes=5),
        metadata={"primary_content_type": "pr_update", "primary_author": "alice"},
    )


def entry_for(batch: BatchGroup, text: str = "2 updates") -> OutboxEntry:
    return OutboxEntry(
        id=batch.id,
        channel_id=batch.channel_id,
        batch_id=batch.id,
        message=SlackMessage(
            blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
            text=text,
            channel=batch.channel_id,
            metadata={"batch_id": batch.id, "message_ids": [m.id for m in batch.messages]},
        ),
        messages=list(batch.messages),
        flushed_at=T0 + timedelta(minutes=5),
        due_at=batch.expires_at,
        reason="window",
    )


def letter_for(letter_id: str, channel_id: str, messages: list[object]) -> DeadLetter:
    return DeadLetter(
        id=letter_id,
        channel_id=channel_id,
        reason="channel_not_found: the bot was removed",
        created_at=T0 + timedelta(minutes=6),
        messages=list(messages),  # type: ignore[arg-type]
        error_code="channel_not_found",
    )


def open_with(store: BatchStore, batch: BatchGroup, *messages: object) -> None:
    """Record *batch* the way the batcher does: the store first, then the batch object."""
    first, *rest = messages
    store.record_open(batch, first)  # type: ignore[arg-type]
    batch.add_message(first)  # type: ignore[arg-type]
    for message in rest:
        store.record_add(batch, message)  # type: ignore[arg-type]
        batch.add_message(message)  # type: ignore[arg-type]


def test_every_store_satisfies_the_protocol(store_factory: StoreFactory) -> None:
    assert isinstance(store_factory(), BatchStore)


def test_pending_batches_survive_a_reopen_with_their_due_times_and_message_order(
    store_factory: StoreFactory,
) -> None:
    store = store_factory()
    if not store.durable:
        assert store.load().batches == []
        return
    first, second = new_batch("b1", "C1"), new_batch("b2", "C2", minutes=1)
    open_with(store, first, pr("gh-1"), pr("gh-2", number=43), jira("j-1"))
    open_with(store, second, alert("a-1"))

    batches = store_factory().load().batches

    assert [b.id for b in batches] == ["b1", "b2"]
    assert [m.id for m in batches[0].messages] == ["gh-1", "gh-2", "j-1"]
    assert batches[0].messages[2] == jira("j-1")
    assert batches[0].created_at == first.created_at
    assert batches[0].expires_at == first.expires_at
    assert batches[0].metadata == first.metadata
    assert batches[0].size_bytes == first.size_bytes
    assert (batches[1].channel_id, batches[1].expires_at) == ("C2", second.expires_at)


def test_a_flushed_batch_moves_to_the_outbox_in_one_step(store_factory: StoreFactory) -> None:
    store = store_factory()
    batch = new_batch("b1")
    open_with(store, batch, pr("gh-1"), pr("gh-2"))
    store.record_flush(batch, entry_for(batch))

    state = store_factory().load()

    assert state.batches == []
    assert [e.id for e in state.outbox] == ["b1"]
    entry = state.outbox[0]
    assert [m.id for m in entry.messages] == ["gh-1", "gh-2"]
    assert entry.message.text == "2 updates"
    assert entry.message.metadata["message_ids"] == ["gh-1", "gh-2"]
    assert (entry.reason, entry.due_at) == ("window", batch.expires_at)


def test_a_flush_the_caller_took_leaves_nothing_behind(store_factory: StoreFactory) -> None:
    store = store_factory()
    batch = new_batch("b1")
    open_with(store, batch, pr("gh-1"))
    store.record_flush(batch, None)

    state = store_factory().load()

    assert (state.batches, state.outbox) == ([], [])


def test_outbox_lists_oldest_first_and_honours_the_limit(store_factory: StoreFactory) -> None:
    store = store_factory()
    for n in range(3):
        batch = new_batch(f"b{n}", minutes=n)
        open_with(store, batch, pr(f"gh-{n}"))
        store.record_flush(batch, entry_for(batch))

    assert [e.id for e in store.outbox_entries()] == ["b0", "b1", "b2"]
    assert [e.id for e in store_factory().outbox_entries(limit=2)] == ["b0", "b1"]


def test_ack_removes_a_delivered_entry_once(store_factory: StoreFactory) -> None:
    store = store_factory()
    batch = new_batch("b1")
    open_with(store, batch, pr("gh-1"))
    store.record_flush(batch, entry_for(batch))

    assert store.ack("b1") is True
    assert store.ack("b1") is False
    assert store_factory().outbox_entries() == []


def test_delivery_progress_is_saved_for_a_retry(store_factory: StoreFactory) -> None:
    store = store_factory()
    batch = new_batch("b1")
    open_with(store, batch, pr("gh-1"))
    entry = entry_for(batch)
    store.record_flush(batch, entry)
    entry.attempts = 2
    entry.next_attempt_at = T0 + timedelta(minutes=7)
    entry.last_error = "ratelimited"
    entry.state = DeliveryProgress(
        posted=["1767225600.000100"],
        attempting=DigestStep.CONVERT,
        failing_since=T0,
        failures=2,
        digest=DigestPlan(key="C1\x1falert:api", parent="1767225600.000100"),
        extra={"from_a_newer_version": [1]},
    )
    store.update_outbox(entry)

    [saved] = store_factory().outbox_entries()

    assert saved.attempts == 2
    assert saved.next_attempt_at == T0 + timedelta(minutes=7)
    assert saved.last_error == "ratelimited"
    assert saved.state == entry.state


def test_an_undeliverable_entry_becomes_a_dead_letter(store_factory: StoreFactory) -> None:
    store = store_factory()
    batch = new_batch("b1")
    open_with(store, batch, pr("gh-1"), pr("gh-2"))
    entry = entry_for(batch)
    store.record_flush(batch, entry)
    letter = letter_for("dl-1", "C1", entry.messages)
    letter.message = entry.message

    assert store.dead_letter_outbox("b1", letter) is True
    assert store.dead_letter_outbox("b1", letter_for("dl-2", "C1", [])) is False

    reopened = store_factory()
    assert reopened.outbox_entries() == []
    [kept] = reopened.dead_letters()
    assert (kept.id, kept.error_code, kept.reason) == ("dl-1", "channel_not_found", letter.reason)
    assert [m.id for m in kept.messages] == ["gh-1", "gh-2"]
    assert kept.message is not None and kept.message.text == "2 updates"


def test_a_dead_batch_leaves_the_pending_batches(store_factory: StoreFactory) -> None:
    store = store_factory()
    batch = new_batch("b1")
    open_with(store, batch, pr("gh-1"))
    store.record_dead_batch(batch, letter_for("dl-1", "C1", list(batch.messages)))

    reopened = store_factory()
    assert reopened.load().batches == []
    assert [d.id for d in reopened.dead_letters()] == ["dl-1"]


def test_dead_letters_filter_by_channel_and_come_out_once_for_replay(
    store_factory: StoreFactory,
) -> None:
    store = store_factory()
    for n, channel in enumerate(["C1", "C2", "C1"]):
        batch = new_batch(f"b{n}", channel)
        open_with(store, batch, pr(f"gh-{n}"))
        store.record_dead_batch(batch, letter_for(f"dl-{n}", channel, list(batch.messages)))

    assert [d.id for d in store.dead_letters("C1")] == ["dl-0", "dl-2"]
    removed = store.remove_dead_letter("dl-0")
    assert removed is not None and [m.id for m in removed.messages] == ["gh-0"]
    assert store.remove_dead_letter("dl-0") is None
    assert [d.id for d in store_factory().dead_letters()] == ["dl-1", "dl-2"]


def test_thread_map_answers_until_the_entry_expires(store_factory: StoreFactory) -> None:
    store = store_factory()
    store.set_thread("C1:acme/api#42", "1767225600.000100", T0 + timedelta(hours=1))

    reopened = store_factory()
    assert reopened.get_thread("C1:acme/api#42", T0) == "1767225600.000100"
    assert reopened.get_thread("C1:acme/api#42", T0 + timedelta(hours=1)) is None
    assert reopened.get_thread("C1:unknown", T0) is None


@pytest.mark.parametrize("text", ["<!channel> & <https://evil|click>", "naïve — ✓ 日本語"])
def test_text_round_trips_byte_for_byte(store_factory: StoreFactory, text: str) -> None:
    store = store_factory()
    batch = new_batch("b1")
    open_with(store, batch, pr("gh-1", title=text))
    store.record_flush(batch, entry_for(batch, text))

    [entry] = store_factory().outbox_entries()

    assert entry.messages[0].data["title"] == text
    assert entry.message.text == text


def test_one_outbox_entry_or_dead_letter_can_be_read_by_id(store_factory: StoreFactory) -> None:
    store = store_factory()
    batch = new_batch("b1")
    open_with(store, batch, pr("gh-1"))
    store.record_flush(batch, entry_for(batch, "one update"))
    entry = store_factory().get_outbox("b1")
    assert entry is not None and entry.message.text == "one update"
    assert store.get_outbox("b-missing") is None

    dead = new_batch("b2")
    open_with(store, dead, pr("gh-2"))
    store.record_dead_batch(dead, letter_for("dl-2", "C1", list(dead.messages)))
    letter = store_factory().get_dead_letter("dl-2")
    assert letter is not None and [m.id for m in letter.messages] == ["gh-2"]
    assert store.get_dead_letter("dl-missing") is None
