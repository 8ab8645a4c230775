"""Where a post goes: a new post, a reply in a live digest, or in the thread of a related post."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

from ..formatting.message import SlackMessage
from ..model.errors import StoreError
from ..model.thread_keys import batch_thread_key, stored_thread_key
from ..store.base import OutboxEntry
from .config import ServiceConfig

if TYPE_CHECKING:
    from ..core.batcher import MessageBatcher

__all__ = ["ThreadPlacement", "page_of"]

logger = logging.getLogger(__name__)


def page_of(pages: list[SlackMessage], index: int, *, threaded: bool) -> SlackMessage:
    """Return page *index*, labelled "(n/N)" when it is not a thread reply."""
    page = pages[index]
    label = f"({index + 1}/{len(pages)})"
    if threaded or len(pages) == 1 or label in page.text:
        return page
    return replace(page, text=f"{label} {page.text}")


class ThreadPlacement:
    """Decides the thread of each page of an outbox entry, and remembers threads to reuse."""

    def __init__(self, batcher: MessageBatcher, config: ServiceConfig, *, threads: bool) -> None:
        self._batcher = batcher
        self.config = config
        self.threads = threads

    def thread_for(self, entry: OutboxEntry, index: int) -> str | None:
        """Return the ts that page *index* of *entry* replies to (None: a new post)."""
        if not self.threads:
            return None
        progress = entry.state
        digest = progress.digest
        if digest is not None and digest.parent:
            return digest.parent
        if index == 0:
            if not progress.thread_decided:
                progress.parent_ts = self._related(entry)
                progress.thread_decided = True
            return progress.parent_ts
        return progress.parent_ts or progress.posted[0]

    def _thread_key(self, entry: OutboxEntry) -> str | None:
        if not self.config.thread_related:
            return None
        key = batch_thread_key(entry.messages)
        return stored_thread_key(entry.channel_id, key) if key else None

    def _related(self, entry: OutboxEntry) -> str | None:
        key = self._thread_key(entry)
        if key is None:
            return None
        return self._batcher.get_thread(key)

    def keep(self, entry: OutboxEntry, ts: str | None) -> None:
        """:meth:`remember` *ts*; a store that refuses only loses a later reply's thread."""
        try:
            self.remember(entry, ts)
        except StoreError as exc:  # the post is out
            logger.warning("could not remember the thread of %s: %s", entry.id, exc)

    def remember(self, entry: OutboxEntry, ts: str | None) -> None:
        """Keep *ts* as the thread later batches about the same thing reply to."""
        if ts is None or entry.state.parent_ts is not None:
            return
        key = self._thread_key(entry) if self.threads else None
        if key is not None:
            ttl = timedelta(seconds=self.config.thread_ttl_seconds)
            self._batcher.set_thread(key, ts, ttl)
