"""Delivering one outbox entry: pacing, pages, threads, retries and the auth pause.

An entry is a rendered batch: page 1 and its continuation pages. Progress is saved in
``entry.state`` through :meth:`Outbox.update` so that a retry — or a restart
after a crash — resumes at the first page not yet posted:

- ``posted``: the ``ts`` of each page posted so far (None from senders without threads);
- ``parent_ts``: the thread page 1 replies to (a related earlier post), once decided;
- ``attempting``: the page being posted right now. Found on an entry recovered after a
  crash, it means that page may have reached Slack: it is posted again (at least once) and
  counted as a possible duplicate;
- ``failures`` / ``failing_since``: the current run of failures, for backoff and giving up.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..delivery.base import Sender
from ..delivery.pacing import Pacer
from ..delivery.retry import RetryAction, RetryPolicy
from ..delivery.threads import batch_thread_key, stored_thread_key
from ..formatting.message import SlackMessage
from ..store.base import OutboxEntry
from .config import ServiceConfig
from .metrics import DeliveryMetrics
from .timers import ClockTimers, Signal

if TYPE_CHECKING:
    from ..batcher import MessageBatcher

__all__ = ["Deliverer"]

logger = logging.getLogger(__name__)


class Deliverer:
    """Posts outbox entries through a sender; shared by every channel worker."""

    def __init__(
        self,
        *,
        batcher: MessageBatcher,
        sender: Sender,
        config: ServiceConfig,
        timers: ClockTimers,
        metrics: DeliveryMetrics,
        rng: random.Random,
        pacer: Pacer | None = None,
    ) -> None:
        self.batcher = batcher
        self.outbox = batcher.outbox
        self.sender = sender
        self.config = config
        self.timers = timers
        self.metrics = metrics
        self.pacer = pacer if pacer is not None else Pacer(config.pacing_policy())
        self.retry: RetryPolicy = config.retry_policy()
        self._rng = rng
        threading = config.enable_threading
        if threading is None:
            threading = batcher.config.enable_threading
        self.threads = bool(threading and getattr(sender, "supports_threads", False))
        self._slots = asyncio.Semaphore(config.max_concurrent_posts)
        self.paused = False
        self._prober: OutboxEntry | None = None
        self.resumed = Signal(timers)
        #: Fires whenever an entry leaves the outbox (the shutdown drain waits on it).
        self.progress = Signal(timers)

    # ------------------------------------------------------------------ pause

    def pause(self, entry: OutboxEntry, reason: str, now: datetime) -> None:
        """Stop all delivery; *entry* becomes the probe that retries until Slack accepts."""
        if not self.paused:
            self.paused = True
            self._prober = entry
            self.metrics.set_paused(now, reason)
            logger.error(
                "Slack rejected the credentials (%s): delivery paused; retrying one post "
                "every %g s until it succeeds or resume() is called",
                reason,
                self.config.auth_probe_interval_seconds,
            )

    def resume(self) -> None:
        """Resume delivery after an auth pause (also called when a probe succeeds)."""
        if not self.paused:
            return
        self.paused = False
        if self._prober is not None:
            self._prober.next_attempt_at = None
        self._prober = None
        self.metrics.set_paused(None, None)
        logger.info("delivery resumed")
        self.resumed.fire()

    # --------------------------------------------------------------- delivery

    async def deliver(self, entry: OutboxEntry) -> None:
        """Post every remaining page of *entry*, then ack it (or dead-letter it)."""
        pages = entry.message.pages
        state = entry.state
        posted: list[str | None] = state.setdefault("posted", [])
        channel = entry.channel_id
        while len(posted) < len(pages):
            index = len(posted)
            await self._wait_turn(entry)
            thread_ts = self._thread_for(entry, index)
            page = self._page(pages, index, threaded=thread_ts is not None)
            state["attempting"] = index
            entry.attempts += 1
            self.outbox.update(entry)
            try:
                async with self._slots:
                    result = await self.sender.post(page, channel=channel, thread_ts=thread_ts)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a sender bug must not kill the channel's worker
                if self._failed(entry, exc):
                    return
                continue
            posted.append(result.ts)
            for key in ("attempting", "failures", "failing_since"):
                state.pop(key, None)
            entry.next_attempt_at = None
            entry.last_error = None
            if index == 0:
                self._remember_thread(entry, result.ts)
            if result.warnings:  # the sender logs them; counted here
                logger.debug("Slack warned about a post to %s: %s", channel, result.warnings)
            self.metrics.post_succeeded(channel, result.warnings)
            if self.paused and entry is self._prober:
                self.resume()
            if len(posted) < len(pages):
                self.outbox.update(entry)
        self.outbox.ack(entry.id)
        now = self.timers.clock.now()
        self.metrics.delivered_entry(len(entry.messages), (now - entry.due_at).total_seconds())
        self.metrics.untrack(entry.id)
        self.progress.fire()

    async def _wait_turn(self, entry: OutboxEntry) -> None:
        """Wait until no pause, retry delay or pacing limit holds *entry* back."""
        clock = self.timers.clock
        while True:
            if self.paused and entry is not self._prober:
                await self.timers.wait(None, self.resumed)
                continue
            now = clock.now()
            if entry.next_attempt_at is not None and entry.next_attempt_at > now:
                await self.timers.wait(entry.next_attempt_at, self.resumed)
                continue
            ready = self.pacer.try_take(entry.channel_id, now)
            if ready is None:
                return
            await self.timers.wait(ready, self.resumed)

    def _thread_for(self, entry: OutboxEntry, index: int) -> str | None:
        if not self.threads:
            return None
        state = entry.state
        if index == 0:
            if "parent_ts" not in state:
                state["parent_ts"] = self._related_thread(entry)
            parent: str | None = state["parent_ts"]
            return parent
        first: str | None = state.get("parent_ts") or state["posted"][0]
        return first

    def _page(self, pages: list[SlackMessage], index: int, *, threaded: bool) -> SlackMessage:
        """Return page *index*, labelled "(n/N)" when it is not a thread reply."""
        page = pages[index]
        label = f"({index + 1}/{len(pages)})"
        if threaded or len(pages) == 1 or label in page.text:
            return page
        return replace(page, text=f"{label} {page.text}")

    def _thread_key(self, entry: OutboxEntry) -> str | None:
        if not self.config.thread_related:
            return None
        key = batch_thread_key(entry.messages)
        return stored_thread_key(entry.channel_id, key) if key else None

    def _related_thread(self, entry: OutboxEntry) -> str | None:
        key = self._thread_key(entry)
        if key is None:
            return None
        return self.batcher.get_thread(key)

    def _remember_thread(self, entry: OutboxEntry, ts: str | None) -> None:
        if ts is None or entry.state.get("parent_ts") is not None:
            return
        key = self._thread_key(entry) if self.threads else None
        if key is not None:
            ttl = timedelta(seconds=self.config.thread_ttl_seconds)
            self.batcher.set_thread(key, ts, ttl)

    # ---------------------------------------------------------------- failure

    def _failed(self, entry: OutboxEntry, exc: Exception) -> bool:
        """Handle a failed post; return True when the entry left the outbox."""
        now = self.timers.clock.now()
        state = entry.state
        failures = int(state.get("failures", 0)) + 1
        since_raw = state.get("failing_since")
        since = datetime.fromisoformat(since_raw) if isinstance(since_raw, str) else now
        decision = self.retry.decide(
            exc,
            attempts=failures,
            failing_since=since,
            now=now,
            rand=self._rng.random(),
        )
        state.pop("attempting", None)
        entry.last_error = decision.reason[:500]
        channel = entry.channel_id
        if decision.action is RetryAction.DEAD_LETTER:
            posted = len(state.get("posted", []))
            reason = decision.reason
            if posted:
                reason += f" (pages 1-{posted} of {len(entry.message.pages)} were posted)"
            self.metrics.post_failed(decision.code, rate_limited=False, retried=False, auth=False)
            self.outbox.dead_letter(entry.id, reason, decision.code)
            self.metrics.dead_lettered()
            self.metrics.untrack(entry.id)
            logger.error("dead-lettered post %s to %s: %s", entry.id, channel, reason)
            self.progress.fire()
            return True
        if decision.action is RetryAction.PAUSE:
            self.pause(entry, decision.reason, now)
            state.pop("failures", None)
            state.pop("failing_since", None)
            probe = entry is self._prober
            delay = timedelta(seconds=self.config.auth_probe_interval_seconds)
            entry.next_attempt_at = now + delay if probe else None
            self.metrics.post_failed(decision.code, rate_limited=False, retried=False, auth=True)
        else:
            state["failures"] = failures
            state["failing_since"] = since.isoformat()
            entry.next_attempt_at = now + timedelta(seconds=decision.delay)
            if decision.retry_after:
                self.pacer.block(channel, entry.next_attempt_at)
            if decision.ambiguous:
                self.metrics.count("possible_duplicates")
            self.metrics.post_failed(
                decision.code, rate_limited=decision.rate_limited, retried=True, auth=False
            )
            log = logger.info if decision.retry_after else logger.warning
            log(
                "post %s to %s failed (%s); retry %d in %.1f s",
                entry.id,
                channel,
                decision.reason,
                failures,
                decision.delay,
            )
        self.outbox.update(entry)
        return False
