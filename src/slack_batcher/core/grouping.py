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

Keyed by scope: when the threshold cannot be reached without sharing the scope (the default
0.7), a channel keeps ``{scope: open batches}`` and scores only those, usually one or two.
Every member of such a batch then shares one scope, so a batch stores nothing per member
for scoring: a small batch scans its members, a large one keeps author → content types.
Other thresholds score every open batch of the partition against each member's profile.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from ..model.batch import BatchGroup
from ..model.message import BatchableMessage, BatchStrategy, ContentType, scope_of
from ..model.stats import ChannelStats

__all__ = [
    "ChannelQueue",
    "GroupingPolicy",
    "Profile",
    "batch_similarity",
    "folded",
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
#: A score this high is the maximum: no other batch can beat it.
_PERFECT = sum(_WEIGHTS) - _EPSILON
#: Past this many members a single-scope batch keeps author → content types for scoring
#: (a scan of a few members is cheaper; the default batch size, 5, never needs the table).
_KEYED_AFTER = 5
_TYPE_BITS = {kind: 1 << n for n, kind in enumerate(ContentType)}
assert AUTHOR_WEIGHT == TYPE_WEIGHT, "scoring shortcuts rely on equal author and type weights"
#: The key of the all-types mask in ``BatchGroup.author_types``.
_ANY_AUTHOR = None


def _opening_order(batch: BatchGroup) -> int:
    return batch.sequence


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


# ------------------------------------------------------------------ per-batch scoring
# A batch is in one of three states: single scope and small (``profiles`` and
# ``author_types`` None: members are scanned), single scope and large (``author_types``),
# or mixed scopes (``profiles``: its distinct profiles; ``match_keys`` once there are many).

_PAIRS = (
    (0, 1, SCOPE_WEIGHT + AUTHOR_WEIGHT),
    (0, 2, SCOPE_WEIGHT + TYPE_WEIGHT),
    (1, 2, AUTHOR_WEIGHT + TYPE_WEIGHT),
)


def _match_keys(profile: Profile) -> list[tuple[object, ...]]:
    keys: list[tuple[object, ...]] = [(i, j, profile[i], profile[j]) for i, j, _ in _PAIRS]
    keys.extend((i, profile[i]) for i in range(3))
    return keys


def _profiles_score(profile: Profile, batch: BatchGroup) -> float:
    keys = batch.match_keys
    if keys is None:
        return max(similarity(profile, other) for other in batch.profiles or ())
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


def batch_similarity(profile: Profile, batch: BatchGroup) -> float:
    """Return *profile*'s best similarity to any member of *batch*."""
    if batch.profiles is not None:
        return _profiles_score(profile, batch)
    scope, author, kind = profile
    base = SCOPE_WEIGHT if scope == batch.scope else 0.0
    table = batch.author_types
    if table is not None:
        bit = _TYPE_BITS[kind]
        types = table.get(author, 0)
        if types & bit:
            return base + AUTHOR_WEIGHT + TYPE_WEIGHT
        if types or table[_ANY_AUTHOR] & bit:
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


@dataclass(slots=True, init=False)
class ChannelQueue:
    """The open batches of one channel and the indexes used to place a message.

    Exists only while the channel has pending batches. ``scoped`` and ``partitioned`` come
    from the channel's :class:`GroupingPolicy` (see :meth:`GroupingPolicy.new_queue`).
    """

    channel_id: str
    #: Keep ``by_scope`` (the policy needs a shared scope to reach its threshold).
    scoped: bool = True
    #: Keep ``partitions`` (a strategy partitions the channel).
    partitioned: bool = False
    #: Open batches by id, in opening order, kept only when not ``scoped`` (a scoped queue
    #: finds every open batch in ``by_scope``: one structure less to touch per opening).
    _batches: dict[str, BatchGroup] | None = None
    #: How many batches are open.
    open_count: int = 0
    #: Pending message id → its batch (dedup and lookups).
    message_ids: dict[str, BatchGroup] = field(default_factory=dict)
    #: scope (or (partition, scope)) → the open batch, or batches, with a member of that scope.
    by_scope: dict[object, BatchGroup | list[BatchGroup]] = field(default_factory=dict)
    #: partition → its open batches, in opening order (when partitioned).
    partitions: dict[tuple[str, ...], dict[str, BatchGroup]] = field(default_factory=dict)
    #: Batches opened so far: each batch's ``sequence`` (ties go to the lower).
    opened: int = 0
    # The channel's activity while it has pending work, counted here (the object the hot
    # path already holds) and folded into its ChannelStats when asked or when it closes.
    #: The channel's stats, once known: no lookup in a table of every channel.
    stats: ChannelStats | None = None
    #: Batches opened (not recovered) and messages placed since the queue opened.
    created: int = 0
    batched: int = 0
    #: When the channel was last active, as a stamp that only grows (least recently active
    #: channel: the lowest).
    touched: int = 0
    #: The latest ``last_activity`` of the batches that already left.
    last_seen: datetime | None = None

    def __init__(self, channel_id: str, scoped: bool = True, partitioned: bool = False) -> None:
        """Start an empty queue; written by hand (not generated): a channel opens one often."""
        self.channel_id = channel_id
        self.scoped = scoped
        self.partitioned = partitioned
        self._batches = None if scoped else {}
        self.open_count = 0
        self.message_ids = {}
        self.by_scope = {}
        self.partitions = {}
        self.opened = self.created = self.batched = self.touched = 0
        self.stats = None
        self.last_seen = None

    @property
    def batches(self) -> dict[str, BatchGroup]:
        """Return the open batches by id, in opening order (a new dict when ``scoped``)."""
        if self._batches is not None:
            return self._batches
        found = sorted(self._open(), key=_opening_order)
        return {batch.id: batch for batch in found}

    def _open(self) -> Iterable[BatchGroup]:
        """Return the open batches, in no particular order."""
        if self._batches is not None:
            return self._batches.values()
        found: dict[int, BatchGroup] = {}  # a batch of several scopes is listed under each
        for entry in self.by_scope.values():
            if type(entry) is list:
                for batch in entry:
                    found[id(batch)] = batch
            else:
                found[id(entry)] = entry  # type: ignore[assignment]
        return found.values()

    @property
    def pending_messages(self) -> int:
        """Messages pending in the channel."""
        return sum(len(batch.messages) for batch in self._open())

    def last_activity(self) -> datetime | None:
        """When a message last joined one of the channel's batches, or None."""
        latest = self.last_seen
        for batch in self._open():
            when = batch.last_activity
            if when is not None and (latest is None or when > latest):
                latest = when
        return latest

    def members(self, partition: tuple[str, ...]) -> dict[str, BatchGroup] | None:
        """Return the open batches of *partition*, in opening order."""
        return self.partitions.get(partition) if self.partitioned else self.batches

    def add_batch(self, batch: BatchGroup) -> None:
        """Register a newly opened (still empty) batch; its first member indexes its scope."""
        self.opened += 1
        self.open_count += 1
        batch.sequence = self.opened
        if self._batches is not None:
            self._batches[batch.id] = batch
        if self.partitioned:
            self.partitions.setdefault(batch.partition, {})[batch.id] = batch

    def open_batch(self, batch: BatchGroup, message: BatchableMessage, profile: Profile) -> None:
        """Register *batch*, just opened holding *message* (with *profile*) as its only member.

        :meth:`add_batch` then :meth:`index_message` in one call (the hot path opens many).
        """
        self.opened += 1
        self.open_count += 1
        self.created += 1
        batch.sequence = self.opened
        if self._batches is not None:
            self._batches[batch.id] = batch
        if self.partitioned:
            self.partitions.setdefault(batch.partition, {})[batch.id] = batch
        self.message_ids[message.id] = batch
        scope = batch.scope = profile[0]
        if self.scoped:
            self._register_scope(batch, scope)

    def index_message(self, batch: BatchGroup, message: BatchableMessage, profile: Profile) -> None:
        """Record that *message* (with *profile*), already appended to *batch*, joined it."""
        self.message_ids[message.id] = batch
        scope = profile[0]
        if batch.scope is None:  # the first member
            batch.scope = scope
            if self.scoped:
                self._register_scope(batch, scope)
            return
        if batch.profiles is None and scope == batch.scope:
            table = batch.author_types
            if table is None:
                if len(batch.messages) <= _KEYED_AFTER:
                    return
                table = batch.author_types = {_ANY_AUTHOR: 0}
                for member in batch.messages:
                    self._note_author_type(table, profile_of(member))
                return
            bit = _TYPE_BITS[profile[2]]
            author = profile[1]
            types = table.get(author, 0)
            if not types & bit:  # usually known already: nothing to write
                table[author] = types | bit
                table[_ANY_AUTHOR] |= bit
            return
        if batch.profiles is None:  # a second scope: from now on, score by profiles
            batch.author_types = None
            batch.profiles = []
            for member in batch.messages[:-1]:
                self._add_profile(batch, profile_of(member))
        if self.scoped and not any(p[0] == scope for p in batch.profiles):
            self._register_scope(batch, scope)
        self._add_profile(batch, profile)

    @staticmethod
    def _note_author_type(table: dict[str | None, int], profile: Profile) -> None:
        bit = _TYPE_BITS[profile[2]]
        table[profile[1]] = table.get(profile[1], 0) | bit
        table[_ANY_AUTHOR] |= bit

    @staticmethod
    def _add_profile(batch: BatchGroup, profile: Profile) -> None:
        profiles = batch.profiles
        assert profiles is not None
        keys = batch.match_keys
        if keys is not None:
            if profile in keys:
                return
            keys.add(profile)
            keys.update(_match_keys(profile))
        elif profile in profiles:
            return
        profiles.append(profile)
        if keys is None and len(profiles) > _KEYED_AFTER:
            batch.match_keys = {key for p in profiles for key in (p, *_match_keys(p))}

    def _scope_key(self, batch: BatchGroup, scope: str) -> object:
        return (batch.partition, scope) if batch.partition else scope

    def _register_scope(self, batch: BatchGroup, scope: str) -> None:
        # Candidates stay in opening order: ``choose`` stops at the first perfect score.
        key = (batch.partition, scope) if batch.partition else scope  # _scope_key, inlined
        found = self.by_scope.get(key)
        if found is None:
            self.by_scope[key] = batch
        elif type(found) is list:
            if found[-1].sequence < batch.sequence:
                found.append(batch)
            else:  # a batch gaining a second scope (mixed-scope batches are rare)
                insort(found, batch, key=_opening_order)
        else:
            first: BatchGroup = found  # type: ignore[assignment]
            pair = [first, batch] if first.sequence < batch.sequence else [batch, first]
            self.by_scope[key] = pair

    def _unregister_scope(self, batch: BatchGroup, scope: str) -> None:
        key = self._scope_key(batch, scope)
        found = self.by_scope.get(key)
        if found is batch:
            del self.by_scope[key]
        elif type(found) is list:
            if batch in found:
                found.remove(batch)
            if len(found) == 1:
                self.by_scope[key] = found[0]

    def remove_batch(self, batch: BatchGroup) -> None:
        """Forget *batch*, one of the open batches, and its messages."""
        if self._batches is not None and self._batches.pop(batch.id, None) is None:
            return
        self.open_count -= 1
        if self.partitioned:
            members = self.partitions.get(batch.partition)
            if members is not None:
                members.pop(batch.id, None)
                if not members:
                    del self.partitions[batch.partition]
        if self.scoped and batch.scope is not None:
            if batch.profiles is None:  # one scope: the common case
                self._unregister_scope(batch, batch.scope)
            else:
                for scope in {batch.scope} | {p[0] for p in batch.profiles}:
                    self._unregister_scope(batch, scope)
        message_ids = self.message_ids
        for message in batch.messages:
            if message_ids.get(message.id) is batch:
                del message_ids[message.id]
        when = batch.last_activity
        if when is not None and (self.last_seen is None or when > self.last_seen):
            self.last_seen = when


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
        #: True when only batches sharing the message's scope can reach the threshold.
        self.scoped = self.by_similarity and sum(_WEIGHTS) - SCOPE_WEIGHT < threshold - _EPSILON

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
        candidates: Iterable[BatchGroup]
        if self.scoped and queue.scoped:
            found = queue.by_scope.get((partition, profile[0]) if partition else profile[0])
            if found is None:
                return None
            if type(found) is not list:
                batch: BatchGroup = found  # type: ignore[assignment]
                score = batch_similarity(profile, batch)
                return batch if score >= self.threshold - _EPSILON else None
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
        threshold = self.threshold - _EPSILON
        scope, author, kind = profile
        bit = _TYPE_BITS[kind]
        for batch in candidates:
            table = batch.author_types
            if table is not None:  # a large single-scope batch: batch_similarity, inlined
                types = table.get(author, 0)
                score = SCOPE_WEIGHT if scope == batch.scope else 0.0
                if types & bit:
                    score += AUTHOR_WEIGHT + TYPE_WEIGHT
                elif types or table[_ANY_AUTHOR] & bit:
                    score += AUTHOR_WEIGHT  # == TYPE_WEIGHT
            else:
                score = batch_similarity(profile, batch)
            if score >= threshold and (best is None or score > best_score + _EPSILON):
                if score > _PERFECT:
                    return batch
                best, best_score = batch, score
        return best
