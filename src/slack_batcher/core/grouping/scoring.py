"""Scoring a message against one open batch: its best similarity to any member.

A batch is in one of three states: single scope and small (``profiles`` and
``author_types`` None: members are scanned), single scope and large (``author_types``:
author → content types), or mixed scopes (``profiles``: its distinct profiles;
``match_keys`` once there are many). :mod:`.queue` keeps those fields up to date.
"""

from __future__ import annotations

from ...model.batch import BatchGroup
from ...model.message import ContentType
from ...model.similarity import (
    AUTHOR_WEIGHT,
    EPSILON,
    SCOPE_WEIGHT,
    TYPE_WEIGHT,
    WEIGHTS,
    Profile,
    similarity,
)

__all__ = [
    "ANY_AUTHOR",
    "KEYED_AFTER",
    "PAIRS",
    "PERFECT",
    "TYPE_BITS",
    "batch_similarity",
    "match_keys",
]

#: A score this high is the maximum: no other batch can beat it.
PERFECT = sum(WEIGHTS) - EPSILON
#: Past this many members a single-scope batch keeps author → content types for scoring
#: (a scan of a few members is cheaper; the default batch size, 5, never needs the table).
KEYED_AFTER = 5
#: Each content type as one bit of an ``author_types`` mask.
TYPE_BITS = {kind: 1 << n for n, kind in enumerate(ContentType)}
assert AUTHOR_WEIGHT == TYPE_WEIGHT, "scoring shortcuts rely on equal author and type weights"
#: The key of the all-types mask in ``BatchGroup.author_types``.
ANY_AUTHOR = None

#: Pairs of features (by index in a Profile) and the score of sharing both.
# A batch is in one of three states: single scope and small (``profiles`` and
# ``author_types`` None: members are scanned), single scope and large (``author_types``),
# or mixed scopes (``profiles``: its distinct profiles; ``match_keys`` once there are many).

PAIRS = (
    (0, 1, SCOPE_WEIGHT + AUTHOR_WEIGHT),
    (0, 2, SCOPE_WEIGHT + TYPE_WEIGHT),
    (1, 2, AUTHOR_WEIGHT + TYPE_WEIGHT),
)


def match_keys(profile: Profile) -> list[tuple[object, ...]]:
    """Return the keys a mixed-scope batch indexes *profile* under (itself aside)."""
    keys: list[tuple[object, ...]] = [(i, j, profile[i], profile[j]) for i, j, _ in PAIRS]
    keys.extend((i, profile[i]) for i in range(3))
    return keys


def _profiles_score(profile: Profile, batch: BatchGroup) -> float:
    keys = batch.match_keys
    if keys is None:
        return max(similarity(profile, other) for other in batch.profiles or ())
    if profile in keys:
        return SCOPE_WEIGHT + AUTHOR_WEIGHT + TYPE_WEIGHT
    best = 0.0
    for i, j, weight in PAIRS:
        if weight > best and (i, j, profile[i], profile[j]) in keys:
            best = weight
    for i, weight in enumerate(WEIGHTS):
        if weight > best and (i, profile[i]) in keys:
            best = weight
    return best


def batch_similarity(profile: Profile, batch: BatchGroup) -> float:
    """Return *profile*'s best similarity to any member of *batch*."""
    if batch.profiles is not None:
        return _profiles_score(profile, batch)
    scope, author, kind = profile
    base = SCOPE_WEIGHT if scope == batch.scope else 0.0
    table = batch.author_types
    if table is not None:
        bit = TYPE_BITS[kind]
        types = table.get(author, 0)
        if types & bit:
            return base + AUTHOR_WEIGHT + TYPE_WEIGHT
        if types or table[ANY_AUTHOR] & bit:
            return base + AUTHOR_WEIGHT  # == TYPE_WEIGHT
        return base
    # A handful of members: scanning them is cheaper than keeping anything per member.
    # One shared feature scores AUTHOR_WEIGHT (== TYPE_WEIGHT); after one is found, only a
    # member sharing both (same type, then same author) can raise the score.
    # (An author compares as profile_of folds it: lower-cased, None as "", no copy if it can.)
    partial = False
    for member in batch.messages:
        other = member.author
        if member.content_type is kind:
            if other == author or (
                (not other.islower() and other.lower() == author) if other else not author
            ):
                return base + AUTHOR_WEIGHT + TYPE_WEIGHT
            partial = True
        elif not partial and (
            other == author
            or ((not other.islower() and other.lower() == author) if other else not author)
        ):
            partial = True
    return base + AUTHOR_WEIGHT if partial else base
