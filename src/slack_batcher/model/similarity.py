"""The similarity rules grouping decides by: features, weights, scores and partitions.

A message is described by three features: its *scope* (repository, project, service or team),
its *author* and its *content type*. Two messages are similar by the sum of the weights of
the features they share (scope 0.4, author 0.3, content type 0.3; two missing values count
as shared). The configured strategies decide which batches a message may join at all
(:class:`GroupingRules`).

Pure rules, shared by the in-process placement (:mod:`slack_batcher.core.grouping`) and the
shared Redis one (:mod:`slack_batcher.store.redis`), which must decide exactly alike.
"""

from __future__ import annotations

from collections.abc import Iterable

from .message import BatchableMessage, BatchStrategy, ContentType, scope_of

__all__ = [
    "AUTHOR_WEIGHT",
    "EPSILON",
    "SCOPE_WEIGHT",
    "TYPE_WEIGHT",
    "WEIGHTS",
    "GroupingRules",
    "Profile",
    "folded",
    "profile_of",
    "similarity",
]

#: (scope, author, content type)
Profile = tuple[str, str, ContentType]

SCOPE_WEIGHT = 0.4
AUTHOR_WEIGHT = 0.3
TYPE_WEIGHT = 0.3
WEIGHTS = (SCOPE_WEIGHT, AUTHOR_WEIGHT, TYPE_WEIGHT)
#: Float slack of score comparisons.
EPSILON = 1e-9


def folded(value: object) -> str:
    """Return *value* as lower-case text ("" for a missing value), as features compare."""
    if not value:
        return ""
    text = value if isinstance(value, str) else str(value)
    # islower() first: most names are lower-case already, and then no copy is made.
    return text if text.islower() else text.lower()


def profile_of(message: BatchableMessage) -> Profile:
    """Return the features similarity is computed on."""
    return (folded(scope_of(message.data)), folded(message.author), message.content_type)


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


class GroupingRules:
    """What the configured strategies and threshold decide before any batch is scored.

    ``AUTHOR_BASED``, ``PRIORITY_BASED`` and ``MIXED`` *partition* a channel (a message only
    joins batches of its partition); ``CONTENT_SIMILARITY`` scores the batches of the
    partition against ``threshold``; ``scoped`` says the threshold cannot be reached without
    sharing the scope.
    """

    def __init__(self, strategies: Iterable[BatchStrategy], threshold: float) -> None:
        chosen = set(strategies)
        self.by_author = BatchStrategy.AUTHOR_BASED in chosen
        self.by_priority = BatchStrategy.PRIORITY_BASED in chosen
        self.by_key = BatchStrategy.MIXED in chosen
        self.by_similarity = BatchStrategy.CONTENT_SIMILARITY in chosen
        #: False when no strategy partitions a channel: every partition key is ().
        self.partitioned = self.by_author or self.by_priority or self.by_key
        self.threshold = threshold
        #: True when the threshold needs the scope: the other features cannot reach it.
        self.needs_scope = threshold - EPSILON > AUTHOR_WEIGHT + TYPE_WEIGHT
        #: True when only batches sharing the message's scope can reach the threshold.
        self.scoped = self.by_similarity and sum(WEIGHTS) - SCOPE_WEIGHT < threshold - EPSILON

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
