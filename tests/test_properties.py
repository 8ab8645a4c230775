"""Property tests: random sequences of operations never lose or duplicate a message.

Runs over every store kind in ``STORE_KINDS``.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from slack_batcher import BatchableMessage, BatchConfig, ManualClock, MessageBatcher, SlackMessage
from tests.conftest import STORE_KINDS
from tests.factories import T0

CHANNELS = ["C1", "C2", "C3", "C4"]
MAX_SIZE = 4

messages = st.builds(
    BatchableMessage,
    id=st.sampled_from([f"m{i}" for i in range(12)]),
    content_type=st.sampled_from(["pr_update", "jira_update", "alert", "deployment"]),
    timestamp=st.just(T0),
    author=st.sampled_from([None, "alice", "bob"]),
    priority=st.sampled_from(["critical", "high", "medium", "low"]),
    data=st.fixed_dictionaries(
        {"repository": st.sampled_from(["acme/api", "acme/web"]), "title": st.text(max_size=8)}
    ),
)


class BatcherMachine(RuleBasedStateMachine):
    store_kind = "memory"

    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="sb-prop-"))
        self.clock = ManualClock(T0)
        config = BatchConfig(max_batch_size=MAX_SIZE, max_channels=3)
        self.store = STORE_KINDS[self.store_kind](self.directory)
        self.batcher = MessageBatcher(config, clock=self.clock, store=self.store)
        self.accepted: Counter[tuple[str, str]] = Counter()
        self.delivered: Counter[tuple[str, str]] = Counter()

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def _deliver(self, channel: str, sent: list[SlackMessage]) -> None:
        for message in sent:
            assert message.channel == channel
            for message_id in message.metadata["message_ids"]:
                self.delivered[(channel, message_id)] += 1

    def _deliver_all(self, result: dict[str, list[SlackMessage]]) -> None:
        for channel, sent in result.items():
            self._deliver(channel, sent)

    @rule(message=messages, channel=st.sampled_from(CHANNELS))
    def add(self, message: BatchableMessage, channel: str) -> None:
        result = self.batcher.add(message, channel)
        if not result.duplicate:
            self.accepted[(channel, message.id)] += 1
        if result.flushed is not None:
            self._deliver(channel, [result.flushed])

    @rule(seconds=st.integers(min_value=1, max_value=400))
    def advance(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @rule()
    def flush_expired(self) -> None:
        self._deliver_all(self.batcher.flush_expired_batches())
        now = self.clock.now()
        for view in self.batcher.inspect_pending_batches()["channels"].values():
            for batch in view["batches"]:
                assert batch["due_at"] > now.isoformat()

    @rule()
    def flush_all(self) -> None:
        self._deliver_all(self.batcher.flush_all_batches())

    @rule(channel=st.sampled_from(CHANNELS))
    def flush_channel(self, channel: str) -> None:
        self._deliver(channel, self.batcher.flush_channel_batches(channel))

    @rule(pick=st.integers(min_value=0, max_value=20))
    def force_flush(self, pick: int) -> None:
        batches = [
            b
            for view in self.batcher.inspect_pending_batches()["channels"].values()
            for b in view["batches"]
        ]
        if batches:
            batch = batches[pick % len(batches)]
            message = self.batcher.force_flush_batch(batch["id"])
            assert message is not None
            self._deliver(batch["channel_id"], [message])

    @rule(hours=st.sampled_from([0.01, 0.1, 24]))
    def cleanup(self, hours: float) -> None:
        self.clock.advance(timedelta(hours=0.02))
        self.batcher.cleanup_stale_batches(max_age_hours=hours)

    @precondition(lambda self: bool(self.batcher.dead_letters()))
    @rule()
    def replay(self) -> None:
        letter = self.batcher.dead_letters()[0]
        pending = {
            (channel, item["id"])
            for channel, view in self.batcher.inspect_pending_batches()["channels"].items()
            for batch in view["batches"]
            for item in batch["items"]
        }
        merged = [m.id for m in letter.messages if (letter.channel_id, m.id) in pending]
        requeued = self.batcher.replay_dead_letter(letter.id)
        assert requeued == len(letter.messages) - len(merged)
        # an id pending again is the same event: the replayed copy merges into it
        for message_id in merged:
            self.accepted[(letter.channel_id, message_id)] -= 1

    @invariant()
    def every_accepted_message_is_in_exactly_one_place(self) -> None:
        view = self.batcher.inspect_pending_batches()
        pending: Counter[tuple[str, str]] = Counter()
        for channel, channel_view in view["channels"].items():
            for batch in channel_view["batches"]:
                assert 1 <= batch["message_count"] <= MAX_SIZE
                for item in batch["items"]:
                    pending[(channel, item["id"])] += 1
        dead: Counter[tuple[str, str]] = Counter()
        for letter in self.batcher.dead_letters():
            for message in letter.messages:
                dead[(letter.channel_id, message.id)] += 1
        outbox: Counter[tuple[str, str]] = Counter()
        for entry in self.batcher.pending_outbox():
            for message in entry.messages:
                outbox[(entry.channel_id, message.id)] += 1
        assert self.delivered + pending + dead + outbox == self.accepted
        assert all(count == 1 for count in pending.values()), "an id pending twice in a channel"

    @invariant()
    def stats_agree_with_inspection(self) -> None:
        stats = self.batcher.get_batch_stats()
        view = self.batcher.inspect_pending_batches()
        assert stats["messages_pending"] == view["total_messages"]
        assert stats["batches_pending"] == view["total_batches"]
        assert stats["active_channels"] == len(view["channels"])
        assert stats["active_channels"] <= 3


def _machine_for(kind: str) -> type[BatcherMachine]:
    return type(f"BatcherMachine_{kind}", (BatcherMachine,), {"store_kind": kind})


@pytest.mark.parametrize("kind", sorted(STORE_KINDS))
def test_random_operations_never_lose_or_duplicate_a_message(kind: str) -> None:
    machine = _machine_for(kind)
    machine.TestCase.settings = settings(
        max_examples=60,
        stateful_step_count=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    machine.TestCase().runTest()
