"""Grouping: which open batch in a channel a new message joins.

A message's similarity to a batch is its best similarity to any member; the features,
weights and partitions are the rules of :mod:`slack_batcher.model.similarity`. The
configured strategies combine (see ``docs/grouping.md``):

* ``AUTHOR_BASED``, ``PRIORITY_BASED`` and ``MIXED`` *partition* a channel: a message only
  joins batches of its own author, its own priority, or (MIXED) its exact similarity key.
* ``CONTENT_SIMILARITY``: the message joins the most similar batch of its partition if the
  score reaches ``similarity_threshold``, else opens a new batch.
* ``TIME_BASED``: the window alone; without ``CONTENT_SIMILARITY`` every message of a
  partition joins the one open batch of that partition.

Modules: :mod:`.scoring` (a message against one batch), :mod:`.queue` (a channel's open
batches and their indexes), :mod:`.policy` (choosing among them).
"""

from ...model.similarity import (
    AUTHOR_WEIGHT,
    SCOPE_WEIGHT,
    TYPE_WEIGHT,
    Profile,
    folded,
    profile_of,
    similarity,
)
from .policy import GroupingPolicy
from .queue import ChannelQueue
from .scoring import batch_similarity

__all__ = [
    "AUTHOR_WEIGHT",
    "SCOPE_WEIGHT",
    "TYPE_WEIGHT",
    "ChannelQueue",
    "GroupingPolicy",
    "Profile",
    "batch_similarity",
    "folded",
    "profile_of",
    "similarity",
]
