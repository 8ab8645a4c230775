"""A join of a live digest: the record after it, and the one thread reply of its news.

A join into a small digest (:func:`small_join_of`) has no reply: the parent, edited, lists
every item of the digest.

The entries that join a digest together (a flush and the flushes of the same digest that
waited for the reply interval with it) get one thread reply: the news among their items
(:func:`~slack_batcher.formatting.digest_news.news_items`), posted by the first entry.
The span of the digest's items it shows is saved in the entry's
:class:`~slack_batcher.model.progress.DigestPlan`, so a retry or a restart renders the
same reply from the digest record; the other entries get an empty span and post nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from ..model.progress import DigestPlan, DigestStep
from ..store.base import DigestRecord, OutboxEntry
from .digests import LiveDigests, is_critical

__all__ = ["Join", "join_of", "reply_of", "small_join_of"]


@dataclass(frozen=True, slots=True)
class Join:
    """A digest after a join (not saved yet) and the items ``[start, end)`` its reply shows."""

    record: DigestRecord
    span: tuple[int, int]
    #: The parent is edited into the listing of all the digest's items (a small digest):
    #: nothing goes to a thread.
    listing: bool = False


def join_of(
    digests: LiveDigests,
    record: DigestRecord,
    group: Sequence[OutboxEntry],
    now: datetime,
    *,
    repost: bool,
) -> Join:
    """Return *record* after *group* joins it at *now*, and the items its one reply shows.

    *repost*: the join edits the parent into the summary for the first time, and what
    the parent listed is re-posted in the thread (one more reply). When the listing of
    every item, the group's too, fits one message (and the digest has no thread yet: a
    first post of several pages has its other pages there), that one reply is all it posts
    (its span is empty: the re-post shows the group; a critical item still gets its own
    broadcast reply).
    """
    grown = digests.joined(record, group, now, replies=0)
    end = len(grown.messages)
    critical = any(is_critical(entry.messages) for entry in group)
    if repost and not critical and not record.replies:
        whole = digests.listing(grown)
        if not whole.continuations:  # the re-post lists every item: no reply of its own
            return Join(replace(grown, replies=1, first_post=whole), (end, end))
    span = (len(record.messages), end)
    reply = digests.news(grown, *span, own=group[0] if len(group) == 1 else None, keep=True)
    replies = record.replies + repost + (len(reply.pages) if reply is not None else 0)
    return Join(replace(grown, replies=replies), span)


def small_join_of(
    digests: LiveDigests, record: DigestRecord, group: Sequence[OutboxEntry], now: datetime
) -> Join | None:
    """Return the join of *group* into the small digest *record*: one edit, no reply.

    None when the digest would not stay small (:meth:`.digests.LiveDigests.small_join`).
    """
    grown = digests.small_join(record, group, now)
    if grown is None:
        return None
    end = len(grown.messages)
    return Join(grown, (end, end), listing=True)


def reply_of(digests: LiveDigests, entry: OutboxEntry, plan: DigestPlan, now: datetime) -> bool:
    """Make *entry*'s message its digest reply (the news it joined with); False: none.

    An entry whose items another entry's reply shows, or whose items are no news, posts
    nothing. Without a saved span, once the digest is gone, or when the digest does not
    hold the entry (a crash came between saving its plan and the digest), the entry's own
    pages are posted: at least once. A reply with a critical item is broadcast.
    """
    span = plan.news
    if plan.parent is None or span is None or plan.step is not DigestStep.REPLIES:
        return True
    record = digests.get(plan.key, now)
    if record is None or record.ts != plan.parent or entry.id not in record.entries:
        return True  # the join was not saved (a crash between): its own pages, not lost
    if span[0] >= span[1]:
        return False
    if len(record.messages) < span[1]:
        return True
    reply = digests.news(record, *span, own=entry)
    if reply is None:
        return False
    if is_critical(record.messages[span[0] : span[1]]):
        reply = replace(reply, metadata={**reply.metadata, "reply_broadcast": True})
    entry.message = reply
    return True
