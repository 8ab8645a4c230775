"""The catch-up edit: a live digest whose parent the call budget left stale is edited once.

With the Slack-call budget (:mod:`.digest_budget`) a join that cannot pay for an edit of
the parent leaves the parent as it was (its news still goes to the thread). Such a parent
is *stale*: :class:`CatchUps` remembers it and, once its digest has taken no news for
``digest_reply_interval`` (at least :data:`MIN_QUIET_SECONDS`), edits it once to the
running summary. Only a converted digest can be stale: a small one's joins always edit its
parent (the listing of its items), and the join that converts it always edits too. So
the parent always ends stating the true count and every item's last state, at
one edit per quiet spell rather than one per flush. A join that edits the parent clears
its staleness; at shutdown (the drain) every stale parent is caught up at once.

The catch-ups are made by the channel's delivery worker (:mod:`.dispatch`), paced like
posts. They are kept in memory: after a restart a stale parent is caught up by the next
join of its digest only.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..delivery.base import UpdatingSender
from ..model.clock import Clock
from ..model.errors import PermanentDeliveryError
from ..store.base import DigestRecord
from .digest_budget import DigestBudget
from .digests import LiveDigests
from .metrics import DeliveryMetrics

if TYPE_CHECKING:
    from .digest_delivery import DeliveryCalls

__all__ = ["MIN_QUIET_SECONDS", "CatchUps", "reposts"]

logger = logging.getLogger(__name__)

#: A stale parent is caught up after at least this many seconds without news when the
#: budget pays for it (a storm's events do), else once its key went quiet: just before its
#: digest expires (a trickle's events pay for their posts and replies only).
MIN_QUIET_SECONDS = 30.0

#: A stale parent is caught up at least this long before its digest expires.
_MARGIN = timedelta(seconds=60)

#: Attempts of a catch-up edit that fails for a transient reason before it is given up.
MAX_ATTEMPTS = 5


def reposts(record: DigestRecord) -> bool:
    """Return True when the next edit of *record* brings the re-post of its first post."""
    return not record.converted and record.first_post is not None


class CatchUps:
    """The stale parents of live digests, per channel, and the edit that catches each up."""

    def __init__(
        self,
        digests: LiveDigests,
        sender: UpdatingSender,
        calls: DeliveryCalls,
        clock: Clock,
        metrics: DeliveryMetrics,
        budget: DigestBudget,
        *,
        quiet: float,
    ) -> None:
        self._digests = digests
        self._sender = sender
        self._calls = calls
        self._clock = clock
        self._metrics = metrics
        self._budget = budget
        self._quiet = timedelta(seconds=max(quiet, MIN_QUIET_SECONDS))
        # channel -> digest key -> (parent ts, when due, attempts made, last news)
        self._stale: dict[str, dict[str, tuple[str, datetime, int, datetime]]] = {}

    def __len__(self) -> int:
        return sum(len(keys) for keys in self._stale.values())

    def mark(self, record: DigestRecord, at: datetime | None = None) -> None:
        """Remember that *record*'s parent was left stale; caught up after a quiet spell.

        *at*: caught up then instead (the end of the edit spacing), if that comes first.
        """
        now = self._clock.now()
        due = min(now + self._quiet, record.expires_at - _MARGIN)
        self._stale.setdefault(record.channel_id, {})[record.key] = (
            record.ts,
            min(due, at) if at is not None else due,
            0,
            now,
        )

    def clear(self, record: DigestRecord) -> None:
        """Forget *record*'s staleness: its parent was just edited to the summary."""
        keys = self._stale.get(record.channel_id)
        if keys is not None and keys.pop(record.key, None) is not None and not keys:
            del self._stale[record.channel_id]

    def due_at(self, channel: str) -> datetime | None:
        """Return when the next catch-up of *channel* is due, or None when none waits."""
        keys = self._stale.get(channel)
        return min((due for _, due, _, _ in keys.values()), default=None) if keys else None

    async def run(self, channel: str, *, hurry: bool = False) -> None:
        """Catch up *channel*'s stale parents that are due (every one with *hurry*)."""
        now = self._clock.now()
        for key, (ts, due, attempts, news) in list(self._stale.get(channel, {}).items()):
            if self._calls.stopping:
                return
            if due > now and not hurry:
                continue
            record = self._digests.get(key, now)
            if record is None or record.ts != ts:
                self._drop(channel, key)
                continue
            final = record.expires_at - _MARGIN
            if now < final and not hurry and not self._affords(record):
                self._stale[channel][key] = (ts, final, attempts, news)
                continue
            await self._calls.wait_channel(channel)
            if self._calls.stopping:
                return
            try:
                async with self._calls.calling(channel):
                    await self._catch_up(record)
            except PermanentDeliveryError as exc:
                logger.info(
                    "live digest %s in %s: the catch-up edit was refused: %s", ts, channel, exc.code
                )
                self._drop(channel, key)
            except Exception as exc:
                if attempts + 1 >= MAX_ATTEMPTS or hurry:
                    logger.warning(
                        "live digest %s in %s: giving up its catch-up edit: %s", ts, channel, exc
                    )
                    self._drop(channel, key)
                else:
                    retry = self._clock.now() + timedelta(seconds=2.0 ** (attempts + 2))
                    self._stale[channel][key] = (ts, retry, attempts + 1, news)
            else:
                self._drop(channel, key)

    def _affords(self, record: DigestRecord) -> bool:
        """Return True when *record*'s events so far pay for the catch-up's calls."""
        return self._budget.affords_edit(record, events=0, replies=0)

    def _drop(self, channel: str, key: str) -> None:
        keys = self._stale.get(channel)
        if keys is not None:
            keys.pop(key, None)
            if not keys:
                del self._stale[channel]

    async def _catch_up(self, record: DigestRecord) -> None:
        """Edit *record*'s parent to its summary (a converted digest: the thread has its items).

        A digest with no thread is never stale (each of its joins edits the parent).
        """
        if reposts(record):
            return
        summary = self._digests.summary(record)
        if not self._budget.changes(record, summary.blocks):
            return
        await self._sender.update(summary, channel=record.channel_id, ts=record.ts)
        self._budget.edited(record, summary.blocks, self._clock.now())
        self._metrics.count("digest_updates")
