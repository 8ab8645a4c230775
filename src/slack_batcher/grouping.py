"""Grouping: which open batch in a channel a new message joins.

A message is described by three features: its *scope* (repository, project, service or team),
its *author* and its *content type*. Two messages are similar by the sum of the weights of
the features they share (scope 0.4, author 0.3, content type 0.3; two missing values count
as shared). A message's similarity to a batch is its best similarity to any member.

The configured strategies combine (see ``docs/grouping.md``):

* ``AUTHOR_BASED``, ``PRIORITY_BASED`` and ``MIXED`` *partition* a channel: a message only
  joins batches of its own author, its own priority, or (MIXED) its exact similarity key.
* ``CONTENT_SIMILARITY``: the message joins the most similar batch of its partition if the
  score reaches ``similarity_threshold``, else opens a new batch.
* ``TIME_BASED``: the window alone; without ``CONTENT_SIMILARITY`` every message of a
  partition joins the one open batch of that partition.

Candidates are found through an index of feature values, not by scanning the channel: when
the threshold cannot be reached without a feature (with the default 0.7: the scope), only
batches sharing that feature are scored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .batch import BatchGroup
from .models import BatchableMessage, BatchStrategy, ContentType, scope_of

__all__ = [
    "ChannelQueue",
    "GroupingPolicy",
    "Profile",
    "batch_similarity",
    "profile_of",
    "similarity",
]

#: (scope, author, content type)
Profile = tuple[str, str, ContentType]

SCOPE_WEIGHT = 0.4
AUTHOR_WEIGHT = 0.3
TYPE_WEIGHT = 0.3
_WEIGHTS = (SCOPE_WEIGHT, AUTHOR_WEIGHT, TYPE_WEIGHT)
_EPSILON = 1e-9


def _folded(value: object) -> str:
    if not value:
        return ""
    text = value if isinstance(value, str) else str(value)
    # islower() first: most names are lower-case already, and then no copy is made.
    return text if text.islower() else text.lower()


def profile_of(message: BatchableMessage) -> Profile:
    """Return the features similarity is computed on."""
    return (_folded(scope_of(message.data)), _folded(message.author), message.content_type)


#: Past this many distinct profiles a batch scores through pair keys instead of a scan.
_KEYED_AFTER = 8
_PAIRS = (
    (0, 1, SCOPE_WEIGHT + AUTHOR_WEIGHT),
    (0, 2, SCOPE_WEIGHT + TYPE_WEIGHT),
    (1, 2, AUTHOR_WEIGHT + TYPE_WEIGHT),
)


def _match_keys(profile: Profile) -> list[tuple[object, ...]]:
    keys: list[tuple[object, ...]] = [(i, j, profile[i], profile[j]) for i, j, _ in _PAIRS]
    keys.extend((i, profile[i]) for i in range(3))
    return keys


def batch_similarity(profile: Profile, batch: BatchGroup) -> float:
    """Return *profile*'s best similarity to any member of *batch*, in O(1) for big batches."""
    keys = batch.match_keys
    if keys is None:
        return max(similarity(profile, other) for other in batch.profiles)
    if profile in keys:
        return SCOPE_WEIGHT + AUTHOR_WEIGHT + TYPE_WEIGHT
    best = 0.0
    for i, j, weight in _PAIRS:
        if weight > best and (i, j, profile[i], profile[j]) in keys:
            best = weight
    for i, weight in enumerate(_WEIGHTS):
        if weight > best and (i, profile[i]) in keys:
            best = weight
    return best


def similarity(a: Profile, b: Profile) -> float:
    """Return the weighted share of features two profiles have in common, in [0, 1]."""
    score = 0.0
    if a[0] == b[0]:
        score += SCOPE_WEIGHT
    if a[1] == b[1]:
        score += AUTHOR_WEIGHT
    if a[2] is b[2]:
        score += TYPE_WEIGHT
    return score


@dataclass(slots=True)
class ChannelQueue:
    """The open batches of one channel and the indexes used to place a message.

    Exists only while the channel has pending batches.
    """

    channel_id: str
    #: Open batches by id, in opening order.
    batches: dict[str, BatchGroup] = field(default_factory=dict)
    #: Pending message id → its batch (dedup and lookups).
    message_ids: dict[str, BatchGroup] = field(default_factory=dict)
    #: (partition, feature index, value) → batches holding a member with that value.
    features: dict[tuple[object, ...], dict[str, BatchGroup]] = field(default_factory=dict)
    #: partition → its open batches, in opening order.
    partitions: dict[tuple[str, ...], dict[str, BatchGroup]] = field(default_factory=dict)
    pending_messages: int = 0
    #: Batches opened so far: each batch's ``sequence`` (ties go to the lower).
    opened: int = 0

    def add_batch(self, batch: BatchGroup) -> None:
        """Register a newly opened (still empty) batch."""
        self.opened += 1
        batch.sequence = self.opened
        self.batches[batch.id] = batch
        self.partitions.setdefault(batch.partition, {})[batch.id] = batch

    def index_message(self, batch: BatchGroup, message: BatchableMessage, profile: Profile) -> None:
        """Record that *message* (with *profile*) joined *batch*."""
        self.message_ids[message.id] = batch
        self.pending_messages += 1
        keys = batch.match_keys
        if keys is not None:
            if profile in keys:
                return
            keys.add(profile)
            keys.update(_match_keys(profile))
        elif profile in batch.profiles:
            return
        batch.profiles.append(profile)
        if keys is None and len(batch.profiles) > _KEYED_AFTER:
            batch.match_keys = {key for p in batch.profiles for key in (p, *_match_keys(p))}
        for position, value in enumerate(profile):
            key = (batch.partition, position, value)
            self.features.setdefault(key, {})[batch.id] = batch

    def remove_batch(self, batch: BatchGroup) -> None:
        """Forget *batch* and its messages."""
        if self.batches.pop(batch.id, None) is None:
            return
        members = self.partitions.get(batch.partition)
        if members is not None:
            members.pop(batch.id, None)
            if not members:
                del self.partitions[batch.partition]
        for profile in batch.profiles:
            for position, value in enumerate(profile):
                key = (batch.partition, position, value)
                holders = self.features.get(key)
                if holders is not None:
                    holders.pop(batch.id, None)
                    if not holders:
                        del self.features[key]
        message_ids = self.message_ids
        for message in batch.messages:
            if message_ids.get(message.id) is batch:
                del message_ids[message.id]
        self.pending_messages -= len(batch.messages)


class GroupingPolicy:
    """Decides, from the configured strategies and threshold, where a message goes."""

    def __init__(self, strategies: Iterable[BatchStrategy], threshold: float) -> None:
        chosen = set(strategies)
        self.by_author = BatchStrategy.AUTHOR_BASED in chosen
        self.by_priority = BatchStrategy.PRIORITY_BASED in chosen
        self.by_key = BatchStrategy.MIXED in chosen
        self.by_similarity = BatchStrategy.CONTENT_SIMILARITY in chosen
        #: False when no strategy partitions a channel: every partition key is ().
        self.partitioned = self.by_author or self.by_priority or self.by_key
        self.threshold = threshold
        # A feature is required when the others together cannot reach the threshold.
        self._required = [
            position
            for position, weight in enumerate(_WEIGHTS)
            if sum(_WEIGHTS) - weight < threshold - _EPSILON
        ]
        #: The scope's position when it is the only required feature (the default).
        self._single_required = 0 if self._required == [0] else None

    def partition_of(self, message: BatchableMessage, profile: Profile) -> tuple[str, ...]:
        """Return the partition key: the batches *message* may join share it."""
        parts: list[str] = []
        if self.by_author:
            parts.append(profile[1])
        if self.by_priority:
            parts.append(message.priority)
        if self.by_key:
            parts.append(message.get_similarity_key())
        return tuple(parts)

    def choose(
        self, queue: ChannelQueue, partition: tuple[str, ...], profile: Profile
    ) -> BatchGroup | None:
        """Return the open batch the message joins, or None to open a new one.

        The highest score reaching the threshold wins; on a tie, the batch opened first.
        """
        members = queue.partitions.get(partition)
        if not members:
            return None
        if not self.by_similarity:
            return next(iter(members.values()))
        if self._single_required is not None:  # the default: only batches sharing the scope
            holders = queue.features.get((partition, self._single_required, profile[0]))
            if not holders:
                return None
            candidates: Iterable[BatchGroup] = holders.values()
        else:
            candidates = self._candidates(queue, partition, profile, members)
        best: BatchGroup | None = None
        best_score = -1.0
        threshold = self.threshold - _EPSILON
        scope, author, kind = profile
        for batch in candidates:
            if batch.match_keys is None:
                score = 0.0
                for other in batch.profiles:  # inlined similarity(): the hot loop
                    current = (
                        (SCOPE_WEIGHT if other[0] == scope else 0.0)
                        + (AUTHOR_WEIGHT if other[1] == author else 0.0)
                        + (TYPE_WEIGHT if other[2] is kind else 0.0)
                    )
                    if current > score:
                        score = current
            else:
                score = batch_similarity(profile, batch)
            if score < threshold:
                continue
            if score > best_score + _EPSILON or (
                score > best_score - _EPSILON
                and best is not None
                and batch.sequence < best.sequence
            ):
                best, best_score = batch, score
        return best

    def _candidates(
        self,
        queue: ChannelQueue,
        partition: tuple[str, ...],
        profile: Profile,
        members: dict[str, BatchGroup],
    ) -> list[BatchGroup]:
        if self.threshold <= _EPSILON:
            return list(members.values())
        features = queue.features
        if self._required:
            sets = [features.get((partition, pos, profile[pos])) for pos in self._required]
            if any(not s for s in sets):
                return []
            smallest = min(sets, key=len)  # type: ignore[arg-type]
            assert smallest is not None
            others = [s for s in sets if s is not smallest]
            return [b for k, b in smallest.items() if all(k in o for o in others if o)]
        found: dict[str, BatchGroup] = {}
        for position in range(3):
            holders = features.get((partition, position, profile[position]))
            if holders:
                found.update(holders)
        return list(found.values())
