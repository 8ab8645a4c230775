"""Recovery: rebuilding the batcher's in-memory indexes from what a durable store kept."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping

from ..model.batch import BatchGroup
from ..model.similarity import profile_of
from ..store.base import StoredState
from .grouping import ChannelQueue, GroupingPolicy
from .recording import StatsRecorder

__all__ = ["recover"]

#: Register a recovered batch (already holding no message) in its channel's queue.
Register = Callable[[ChannelQueue, BatchGroup], None]


def recover(
    state: StoredState,
    *,
    channels: MutableMapping[str, ChannelQueue],
    policy_for: Callable[[str], GroupingPolicy],
    register: Register,
    recorder: StatsRecorder,
) -> None:
    """Re-open every stored batch (keeping its due time) and index its messages.

    Batches are re-opened oldest first; each message is counted as recovered, not as
    batched anew.
    """
    for batch in sorted(state.batches, key=lambda b: b.created_at):
        if not batch.messages:
            continue
        first = batch.messages[0]
        policy = policy_for(batch.channel_id)
        batch.partition = policy.partition_of(first, profile_of(first))
        queue = channels.get(batch.channel_id)
        if queue is None:
            queue = channels[batch.channel_id] = policy.new_queue(batch.channel_id)
        messages, batch.messages, batch.size_bytes = batch.messages, [], 0
        register(queue, batch)
        for message in messages:
            batch.add_message(message)
            queue.index_message(batch, message, profile_of(message))
            when = batch.last_activity or batch.created_at
            recorder.recovered_message(batch.channel_id, message.size_bytes, when)
