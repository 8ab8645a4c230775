"""Live digests: one top-level post per storm, kept current with ``chat.update``.

Every flushed batch has a *digest key* (:func:`digest_key`): by default its type and scope
("alert:api"); with ``digest_by = ["alertname"]`` those data fields; with ``[]`` the whole
channel. When a batch is delivered and its channel has a live digest for the key, it is not
posted at the top level: its pages go to the digest's thread and the digest post is edited
to the running summary (a :class:`~slack_batcher.formatting.digest_state.DigestState` per
digest takes each batch; it reads as
:func:`~slack_batcher.formatting.digest_summary.format_digest_summary` of every item).
Otherwise it is posted as usual and becomes the digest of its key.

A digest is live for ``digest_window_minutes`` after its last flush, never more than
``digest_max_age_minutes`` after it was posted, and up to :data:`MAX_DIGEST_ITEMS` items.
While a digest is *small* (:meth:`LiveDigests.small_join`: up to :data:`SMALL_DIGEST_ITEMS`
items that fit one page, no critical one) it has no thread: a flush into it is one edit of
the parent into the multi-item post of all its items (:meth:`LiveDigests.listing`), its
header stating their true count. When it outgrows that, the parent is edited into the
summary once and what it listed is re-posted in the thread, so each item is posted exactly
once across the parent and the thread, and later flushes are thread replies of their news.
The map (key → post, items, expiry) lives in the store
(:class:`~slack_batcher.store.base.DigestRecord`): a restart keeps editing the same post.
The delivery steps themselves are in :mod:`.digest_delivery`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..core.rendering import is_deferred, render_batch
from ..formatting.asks import with_asks
from ..formatting.digest_news import news_items
from ..formatting.digest_state import DigestState
from ..formatting.digest_summary import format_digest_summary
from ..formatting.items import DEFAULT_ITEM_FORMATTERS, ItemFormatter
from ..formatting.limits import MAX_BLOCKS
from ..formatting.message import SlackMessage
from ..formatting.mute_note import Note, with_notes
from ..model.batch import BatchGroup
from ..model.digest_key import digest_key
from ..model.errors import StoreError
from ..model.message import BatchableMessage, BatchType, ContentType
from ..model.people import People
from ..store.base import DigestRecord, OutboxEntry
from .mute_notes import post_notes

if TYPE_CHECKING:
    from ..core.batcher import MessageBatcher
    from ..model.config import BatchConfig

__all__ = [
    "MAX_DIGEST_ITEMS",
    "SMALL_DIGEST_ITEMS",
    "DigestControls",
    "LiveDigests",
    "digest_key",
    "is_critical",
]

logger = logging.getLogger(__name__)

#: Digests whose running summary is kept between flushes (the oldest is dropped past this).
MAX_CACHED_DIGESTS = 256

#: A digest holding this many items takes no more: the next flush starts a new one.
MAX_DIGEST_ITEMS = 1000


#: A digest's parent lists its items (edited in place, no thread) up to this many.
SMALL_DIGEST_ITEMS = 10

#: Types whose digests may take a batch of another of these types (:meth:`related_keys`).
_ROUTINE = tuple(
    kind.value
    for kind in (
        ContentType.PR_UPDATE,
        ContentType.GENERIC,
        ContentType.CI_BUILD,
        ContentType.DEPLOYMENT,
        ContentType.JIRA_UPDATE,
    )
)


def _same_items(items: Sequence[BatchableMessage], others: Sequence[BatchableMessage]) -> bool:
    """Return True when *items* are *others*, one for one in the same order (by id)."""
    return len(items) == len(others) and all(
        a is b or a.id == b.id for a, b in zip(items, others, strict=True)
    )


def _shows_alone(entry: OutboxEntry, items: Sequence[BatchableMessage]) -> bool:
    """Return True when *entry*'s own post (rendered at its flush, one page) shows *items*."""
    message = entry.message
    return (
        not message.continuations
        and not is_deferred(message)
        and _same_items(items, entry.messages)
    )


def is_critical(messages: Iterable[BatchableMessage]) -> bool:
    """Return True when a batch holds a critical item (its reply is broadcast)."""
    return any(m.priority == "critical" for m in messages)


#: Adds controls to a digest post: (post, channel, its items, digest key, notes) → post.
AddControls = Callable[
    [SlackMessage, str, Sequence[BatchableMessage], str, list[Note]], SlackMessage
]


@dataclass
class DigestControls:
    """How digest posts get their controls (buttons).

    The HTTP app sets ``add`` when Slack interactivity is on (see
    :mod:`slack_batcher.http.interactions`). Shared by reference, so setting it after the
    service started takes effect at the next post.
    """

    add: AddControls | None = None
    #: Who must act, mentioned on digest posts (``[people]``); None: nobody is mentioned.
    people: People | None = None
    #: A channel's own asks to mention (its route's ``mention``), else ``people.mention``.
    mention_by_channel: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


class LiveDigests:
    """The digest map of one service: lookups, new digests, joins and summaries."""

    def __init__(self, batcher: MessageBatcher, controls: DigestControls | None = None) -> None:
        self.batcher = batcher
        self.store = batcher.store
        self.controls = controls if controls is not None else DigestControls()
        # Per digest key: its running summary (for the options and formatters it was built
        # with, and the digest post it summarises); each flush folds in the new items only.
        self._states: dict[str, tuple[object, str, DigestState]] = {}
        # Per digest key: what a full disk kept from the store (None: a deletion), written
        # before delivery starts another Slack call (the record of this one comes first).
        self._held: dict[str, DigestRecord | None] = {}
        # Thread replies a join rendered (to count their pages), until their post renders
        # them: (store key, digest post, start, end) -> the items and the reply (None: no
        # news). A join that was not saved may leave a reply of other items at its span.
        self._news: dict[
            tuple[str, str, int, int], tuple[list[BatchableMessage], SlackMessage | None]
        ] = {}

    def config(self, channel_id: str) -> BatchConfig:
        """Return the BatchConfig of *channel_id* (digests honour per-channel settings)."""
        return self.batcher.config_for(channel_id)

    def enabled(self, channel_id: str) -> bool:
        """Return True when flushes to *channel_id* go into live digests."""
        return bool(self.config(channel_id).live_digests)

    def key_for(self, entry: OutboxEntry) -> str:
        """Return the store key of *entry*'s digest (its channel and digest key)."""
        by = self.config(entry.channel_id).digest_by
        return f"{entry.channel_id}\x1f{digest_key(entry.messages, by)}"

    def related_keys(self, entry: OutboxEntry, key: str) -> list[str]:
        """Return the digest keys *entry* may join when its own key has no live digest.

        With the default keys (type and scope), a batch of several types ("*:acme/api")
        joins the live digest of one of its types in the same scope, and a batch of one
        type joins that scope's mixed digest: a lone event posted at once (the leading
        edge) stays the one post its followers go to. A batch of one routine type (PR,
        push, CI, deploy, Jira) also joins a routine digest of another type in its scope:
        a push goes into its repository's PR digest, as one window of the seed's batching
        would have held both. Alerts, blockers and stand-ups neither join another type's
        digest nor take one in.
        """
        if self.config(entry.channel_id).digest_by is not None:
            return []
        channel, _, bare = key.partition("\x1f")
        kind, _, scope = bare.partition(":")
        if not scope or scope == "*":
            return []
        if kind != "*":
            mixed = [f"{channel}\x1f*:{scope}"]
            if kind not in _ROUTINE:
                return mixed
            return mixed + [f"{channel}\x1f{other}:{scope}" for other in _ROUTINE if other != kind]
        kinds = dict.fromkeys(m.content_type.value for m in entry.messages)
        return [f"{channel}\x1f{other}:{scope}" for other in kinds]

    def get(self, key: str, now: datetime) -> DigestRecord | None:
        """Return the live digest of *key* (one a full disk kept from the store included)."""
        if key in self._held:
            held = self._held[key]
            return held if held is not None and held.expires_at > now else None
        return self.store.get_digest(key, now)

    def put(self, record: DigestRecord | None, key: str) -> bool:
        """Store *record* as the digest of *key* (None: forget it); False if refused.

        A refused write is kept in memory (:meth:`get` answers it) until :meth:`save_held`.
        """
        self._held.pop(key, None)
        try:
            if record is None:
                self.store.delete_digest(key)
            else:
                self.store.put_digest(record)
        except StoreError as exc:
            self._held[key] = record
            logger.error("writing the digest map failed (kept to write later): %s", exc)
            return False
        return True

    def save_held(self) -> int:
        """Write the digests the store refused; return how many are still held."""
        for key, record in list(self._held.items()):
            if not self.put(record, key):
                break
        return len(self._held)

    def find(self, key: str, now: datetime, incoming: int = 0) -> DigestRecord | None:
        """Return the live digest of *key* that can take *incoming* more items, or None."""
        record = self.get(key, now)
        if record is None or len(record.messages) + incoming > MAX_DIGEST_ITEMS:
            return None
        return record

    def _expiry(self, channel_id: str, created: datetime, now: datetime) -> datetime:
        config = self.config(channel_id)
        window = now + timedelta(minutes=config.digest_window_minutes)
        return min(window, created + timedelta(minutes=config.digest_max_age_minutes))

    def start(self, entry: OutboxEntry, key: str, ts: str, now: datetime) -> DigestRecord:
        """Make the post *ts* of *entry* the live digest of *key*; return the saved record."""
        first = replace(entry.message, continuations=[], metadata=dict(entry.message.metadata))
        record = DigestRecord(
            key=key,
            channel_id=entry.channel_id,
            ts=ts,
            created_at=now,
            updated_at=now,
            expires_at=self._expiry(entry.channel_id, now, now),
            messages=list(entry.messages),
            entries=[entry.id],
            replies=len(entry.message.pages) - 1,
            first_post=first,
            by_scope=self.config(entry.channel_id).digest_by == [],
        )
        self.put(record, key)
        return record

    def first_post_reply(self, record: DigestRecord) -> SlackMessage | None:
        """Return the parent's page 1, to re-post in the thread when it becomes the summary.

        ``first_post`` is what the parent lists: the first post, or the listing a small
        digest's parent grew into (:meth:`small_join`). Its metadata says
        ``digest_repost``: its items were first shown in the parent.
        """
        if record.first_post is None:
            return None
        page = record.first_post
        metadata = {**page.metadata, "digest_repost": True}
        return replace(page, continuations=[], thread_ts=None, metadata=metadata)

    def converted(self, record: DigestRecord) -> DigestRecord:
        """Save that the first post's items are in the thread now; return the record.

        The re-post was counted among the replies by the edit before it (:meth:`joined`).
        A store that refuses keeps it held (:meth:`holds`).
        """
        done = replace(record, converted=True, first_post=None)
        self.put(done, done.key)
        return done

    def holds(self, key: str) -> bool:
        """Return True while the digest of *key* waits to be written (see :meth:`put`)."""
        return key in self._held

    def joined(
        self,
        record: DigestRecord,
        entries: Sequence[OutboxEntry],
        now: datetime,
        *,
        repost: bool = False,
        replies: int | None = None,
    ) -> DigestRecord:
        """Return *record* with the items and pages of *entries* added (not saved yet).

        Entries it holds already (a retry after the edit went through) are not added again.
        *repost*: the replies count the re-post of the first post too (it follows an edit).
        *replies*: the posts the join adds to the thread (default: the entries' pages).
        """
        new = [entry for entry in entries if entry.id not in record.entries]
        if not new:
            return record
        if replies is None:
            replies = repost + sum(len(e.message.pages) for e in new)
        return replace(
            record,
            messages=[*record.messages, *(m for entry in new for m in entry.messages)],
            entries=[*record.entries, *(entry.id for entry in new)],
            replies=record.replies + replies,
            updated_at=now,
            expires_at=self._expiry(record.channel_id, record.created_at, now),
        )

    def listing(self, record: DigestRecord, count: int | None = None) -> SlackMessage:
        """Render *record*'s first *count* items (all by default) as one multi-item post.

        While a digest is small its parent *is* this post: the items a batch post of them
        all would show, its header stating their count, on one page (``items_per_page``
        does not split it; Slack's block limit does: :meth:`small_join` checks).
        """
        items = record.messages[:count]
        config = replace(self.config(record.channel_id), enable_pagination=False)
        return self._render(f"listing_{record.ts}_{len(items)}", record.channel_id, items, config)

    def small_join(
        self, record: DigestRecord, entries: Sequence[OutboxEntry], now: datetime
    ) -> DigestRecord | None:
        """Return *record* after *entries* join it, if its parent can still list them all.

        The record returned lists them all in ``first_post`` (what the parent shows, and
        what the conversion re-posts). A digest is small while it has no thread (never
        converted, its first post one page), holds at most :data:`SMALL_DIGEST_ITEMS`
        items whose listing (with its notes and controls) fits one message, and takes no
        critical item (that goes to the thread at once, broadcast). None: the join
        converts the digest instead.
        """
        if record.converted or record.first_post is None or record.replies:
            return None
        new = [entry for entry in entries if entry.id not in record.entries]
        if any(is_critical(entry.messages) for entry in new):
            return None
        grown = self.joined(record, entries, now, replies=0)
        if len(grown.messages) > SMALL_DIGEST_ITEMS:
            return None
        page = self.listing(grown)
        if page.continuations:
            return None
        shown = self.decorated(page, grown.channel_id, grown.messages, grown.key)
        if len(shown.blocks) > MAX_BLOCKS:
            return None
        return replace(grown, first_post=page)

    def news(
        self,
        record: DigestRecord,
        start: int,
        end: int,
        own: OutboxEntry | None = None,
        *,
        keep: bool = False,
    ) -> SlackMessage | None:
        """Render the thread reply of *record*'s items ``[start, end)``: their news only.

        None when none of them is news (an alert re-sent unchanged is not): nothing is
        posted then. The same items render the same reply (a retry posts what it would have).
        The reply is one message, not paged by ``items_per_page`` (Slack's limits may still
        split it). When the news are exactly the items of *own* (an entry that joined alone,
        every item news) and its post is one page, the reply is that post, not rendered
        again. *keep*: the join renders the reply to count its pages; it is kept for the post
        that follows.
        """
        messages = record.messages
        joined = messages[start:end]
        tag = (record.key, record.ts, start, end)
        kept = self._news.get(tag)
        if kept is not None and _same_items(kept[0], joined):
            if not keep:
                del self._news[tag]
            return kept[1]
        items = news_items(messages[:start], joined)
        if not items:
            reply = None
        elif own is not None and _shows_alone(own, items):
            reply = own.message
        else:  # one reply, split only where Slack's limits split it
            config = replace(self.config(record.channel_id), enable_pagination=False)
            batch_id = f"news_{record.ts}_{start}_{end}"
            reply = self._render(batch_id, record.channel_id, items, config)
        if keep:
            if len(self._news) >= MAX_CACHED_DIGESTS:
                self._news.pop(next(iter(self._news)))
            self._news[tag] = (joined, reply)
        return reply

    def _render(
        self,
        batch_id: str,
        channel_id: str,
        items: Sequence[BatchableMessage],
        config: BatchConfig,
    ) -> SlackMessage:
        """Render *items* as the multi-item post a batch of them would get (a preview)."""
        batch = BatchGroup(
            id=batch_id,
            channel_id=channel_id,
            batch_type=BatchType.for_content_type(items[0].content_type),
            created_at=min(m.timestamp for m in items),
            expires_at=max(m.timestamp for m in items),
            messages=list(items),
        )
        batcher = self.batcher
        return render_batch(
            batch,
            config=config,
            factory=batcher.formatter_factory,
            recorder=batcher.recorder,
            on_error=batcher.error_handler.handle_formatter_error,
            preview=True,
        )

    def save(self, record: DigestRecord) -> None:
        """Store *record* (after its edit reached Slack)."""
        self.put(record, record.key)

    def forget(self, key: str) -> None:
        """Forget the digest of *key*: the next flush starts a new one."""
        self._states.pop(key, None)
        self.put(None, key)

    def _state(self, record: DigestRecord, tag: object) -> DigestState | None:
        """Return the running summary of *record* if it holds a prefix of its items, else None.

        A record only grows, so its items up to the state's count are the ones folded when
        the last of them is (a retried edit folds nothing; an entry that never made it into
        the digest leaves a state that does not match, rebuilt once).
        """
        kept = self._states.get(record.key)
        if kept is None or kept[0] != tag or kept[1] != record.ts:
            return None
        state = kept[2]
        messages = record.messages
        if state.count > len(messages) or state.last is None:
            return None
        last = messages[state.count - 1]
        if last is not state.last and (
            last.id != state.last.id or last.timestamp != state.last.timestamp
        ):
            return None
        return state

    def summary(self, record: DigestRecord) -> SlackMessage:
        """Render the parent post of *record*: the running summary of its items.

        The digest's :class:`~slack_batcher.formatting.digest_state.DigestState` takes the
        items added since the last summary; after a restart (or when it does not match the
        record) it is rebuilt from the record's items once.
        """
        factory = self.batcher.formatter_factory
        options = factory.options_for(record.channel_id) if factory is not None else None
        formatters: Mapping[ContentType, ItemFormatter] = (
            factory.item_formatters if factory is not None else None
        ) or DEFAULT_ITEM_FORMATTERS
        tag = (options, tuple(formatters.items()))  # a new read-only proxy each time: compare
        try:
            state = self._state(record, tag)
            if state is None:
                state = DigestState(options, dict(formatters))
                if len(self._states) >= MAX_CACHED_DIGESTS and record.key not in self._states:
                    self._states.pop(next(iter(self._states)))
            self._states[record.key] = (tag, record.ts, state)
            state.fold(record.messages[state.count :])
            rendered = state.render(
                replies=record.replies, by_scope=record.by_scope, channel=record.channel_id
            )
            return self.decorated(rendered, record.channel_id, record.messages, record.key)
        except Exception:  # a custom item formatter failed: the built-in ones still work
            logger.exception("rendering the digest summary with custom formatters failed")
            self._states.pop(record.key, None)
            fallback = format_digest_summary(
                sorted(record.messages, key=lambda m: m.timestamp),
                options=options,
                replies=record.replies,
                by_scope=record.by_scope,
                channel=record.channel_id,
            )
            return self.decorated(fallback, record.channel_id, record.messages, record.key)

    def decorated(
        self,
        page: SlackMessage,
        channel: str,
        messages: Sequence[BatchableMessage],
        key: str,
    ) -> SlackMessage:
        """Return *page* with its mute / acknowledgement lines and, when on, its controls.

        *key* is the store key (channel and digest key) or the bare digest key.
        """
        bare = key.partition("\x1f")[2] if "\x1f" in key else key
        by = self.config(channel).digest_by
        notes = post_notes(self.store, channel, bare, messages, self.batcher.clock.now(), by)
        page = with_notes(page, notes)
        people = self.controls.people
        if people:
            chosen = self.controls.mention_by_channel.get(channel)
            page = with_asks(page, people.asks(messages, chosen))
        add = self.controls.add
        if add is None:
            return page
        try:
            return add(page, channel, messages, bare, notes)
        except Exception:  # a post without its buttons beats no post
            logger.exception("adding controls to a post in %s failed", channel)
            return page

    def current_parent(self, record: DigestRecord) -> SlackMessage:
        """Render the parent post of *record* as it should read now (after a click, say).

        Before the first join the parent is the first post itself (its items are not in
        the thread yet), afterwards the running summary.
        """
        if record.converted or record.first_post is None:
            return self.summary(record)
        return self.decorated(record.first_post, record.channel_id, record.messages, record.key)
