"""ChannelQueue: the open batches of one channel and the indexes used to place a message.

Keyed by scope: when the threshold cannot be reached without sharing the scope (the default
0.7), a channel keeps ``{scope: open batches}`` and scores only those, usually one or two.
Every member of such a batch then shares one scope, so a batch stores nothing per member
for scoring: a small batch scans its members, a large one keeps author → content types.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from ...model.batch import BatchGroup
from ...model.message import BatchableMessage
from ...model.similarity import Profile, profile_of
from ...model.stats import ChannelStats
from .scoring import ANY_AUTHOR, KEYED_AFTER, TYPE_BITS, match_keys

__all__ = ["ChannelQueue", "opening_order"]


def opening_order(batch: BatchGroup) -> int:
    """Sort key: batches in the order their channel opened them."""
    return batch.sequence


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
        found = sorted(self._open(), key=opening_order)
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
                if len(batch.messages) <= KEYED_AFTER:
                    return
                table = batch.author_types = {ANY_AUTHOR: 0}
                for member in batch.messages:
                    self._note_author_type(table, profile_of(member))
                return
            bit = TYPE_BITS[profile[2]]
            author = profile[1]
            types = table.get(author, 0)
            if not types & bit:  # usually known already: nothing to write
                table[author] = types | bit
                table[ANY_AUTHOR] |= bit
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
        bit = TYPE_BITS[profile[2]]
        table[profile[1]] = table.get(profile[1], 0) | bit
        table[ANY_AUTHOR] |= bit

    @staticmethod
    def _add_profile(batch: BatchGroup, profile: Profile) -> None:
        profiles = batch.profiles
        assert profiles is not None
        keys = batch.match_keys
        if keys is not None:
            if profile in keys:
                return
            keys.add(profile)
            keys.update(match_keys(profile))
        elif profile in profiles:
            return
        profiles.append(profile)
        if keys is None and len(profiles) > KEYED_AFTER:
            batch.match_keys = {key for p in profiles for key in (p, *match_keys(p))}

    def _register_scope(self, batch: BatchGroup, scope: str) -> None:
        # Candidates stay in opening order: ``choose`` stops at the first perfect score.
        key = (batch.partition, scope) if batch.partition else scope  # the scope key
        found = self.by_scope.get(key)
        if found is None:
            self.by_scope[key] = batch
        elif type(found) is list:
            if found[-1].sequence < batch.sequence:
                found.append(batch)
            else:  # a batch gaining a second scope (mixed-scope batches are rare)
                insort(found, batch, key=opening_order)
        else:
            first: BatchGroup = found  # type: ignore[assignment]
            pair = [first, batch] if first.sequence < batch.sequence else [batch, first]
            self.by_scope[key] = pair

    def _unregister_scope(self, batch: BatchGroup, scope: str) -> None:
        key = (batch.partition, scope) if batch.partition else scope  # the scope key
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
                key = (batch.partition, batch.scope) if batch.partition else batch.scope
                if self.by_scope.get(key) is batch:  # alone under its scope: no call
                    del self.by_scope[key]
                else:
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
