"""GroupingPolicy: where a message goes, from the configured strategies and threshold."""

from __future__ import annotations

from collections.abc import Iterable

from ...model.batch import BatchGroup
from ...model.similarity import (
    AUTHOR_WEIGHT,
    EPSILON,
    SCOPE_WEIGHT,
    TYPE_WEIGHT,
    GroupingRules,
    Profile,
    profile_of,
)
from .queue import ChannelQueue
from .scoring import ANY_AUTHOR, PERFECT, TYPE_BITS, batch_similarity

__all__ = ["GroupingPolicy"]


class GroupingPolicy(GroupingRules):
    """Decides, from the configured strategies and threshold, where a message goes.

    The rules (partitions, threshold, whether the scope is needed) are
    :class:`~slack_batcher.model.similarity.GroupingRules`; this adds the open batches.
    """

    def new_queue(self, channel_id: str) -> ChannelQueue:
        """Return an empty queue indexed the way this policy places messages."""
        return ChannelQueue(channel_id, scoped=self.scoped, partitioned=self.partitioned)

    def reindex(self, queue: ChannelQueue) -> ChannelQueue:
        """Return a new queue holding *queue*'s open batches, indexed by this policy."""
        fresh = self.new_queue(queue.channel_id)
        fresh.stats, fresh.created, fresh.batched = queue.stats, queue.created, queue.batched
        fresh.touched, fresh.last_seen = queue.touched, queue.last_seen
        for batch in queue.batches.values():
            messages, batch.messages = batch.messages, []
            batch.scope = batch.profiles = batch.match_keys = batch.author_types = None
            batch.partition = self.partition_of(messages[0], profile_of(messages[0]))
            fresh.add_batch(batch)
            for message in messages:
                batch.messages.append(message)
                fresh.index_message(batch, message, profile_of(message))
        return fresh

    def _joins(self, profile: Profile, batch: BatchGroup) -> BatchGroup | None:
        """Return *batch*, the one open batch of *profile*'s scope, if it reaches the threshold.

        A small single-scope batch: ``batch_similarity`` with the answer known early. The
        scope is shared, so one more shared feature (a member of the same type, or by the
        same author) reaches a threshold up to scope + author; above, only both in one member.
        """
        threshold = self.threshold - EPSILON
        if batch.profiles is not None or batch.author_types is not None:
            return batch if batch_similarity(profile, batch) >= threshold else None
        one = threshold <= SCOPE_WEIGHT + AUTHOR_WEIGHT
        if not one and threshold > SCOPE_WEIGHT + AUTHOR_WEIGHT + TYPE_WEIGHT:
            return None
        _, author, kind = profile
        for member in batch.messages:
            same_kind = member.content_type is kind
            if same_kind and one:
                return batch
            other = member.author  # compared as profile_of folds it (see batch_similarity)
            if (one or same_kind) and (
                other == author
                or ((not other.islower() and other.lower() == author) if other else not author)
            ):
                return batch
        return None

    def choose(
        self, queue: ChannelQueue, partition: tuple[str, ...], profile: Profile
    ) -> BatchGroup | None:
        """Return the open batch the message joins, or None to open a new one.

        The highest score reaching the threshold wins; on a tie, the batch opened first.
        """
        candidates: Iterable[BatchGroup]
        if self.scoped and queue.scoped:
            found = queue.by_scope.get((partition, profile[0]) if partition else profile[0])
            if found is None:
                return None
            if type(found) is not list:
                return self._joins(profile, found)  # type: ignore[arg-type]
            candidates = found
        else:
            members = queue.members(partition)
            if not members:
                return None
            if not self.by_similarity:
                return next(iter(members.values()))
            candidates = members.values()
        # Candidates come in opening order: the first best score wins a tie, and a perfect
        # score cannot be beaten.
        best: BatchGroup | None = None
        best_score = 0.0
        threshold = self.threshold - EPSILON
        scope, author, kind = profile
        bit = TYPE_BITS[kind]
        for batch in candidates:
            table = batch.author_types
            if table is not None:  # a large single-scope batch: batch_similarity, inlined
                types = table.get(author, 0)
                score = SCOPE_WEIGHT if scope == batch.scope else 0.0
                if types & bit:
                    score += AUTHOR_WEIGHT + TYPE_WEIGHT
                elif types or table[ANY_AUTHOR] & bit:
                    score += AUTHOR_WEIGHT  # == TYPE_WEIGHT
            else:
                score = batch_similarity(profile, batch)
            if score >= threshold and (best is None or score > best_score + EPSILON):
                if score > PERFECT:
                    return batch
                best, best_score = batch, score
        return best
