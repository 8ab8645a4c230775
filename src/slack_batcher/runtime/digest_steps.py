"""Delivery steps of a live digest: into the thread of the digest post, then edit it.

:class:`~.posting.Deliverer` decides once per outbox entry (saved in ``entry.state``) where a
live digest (:mod:`.digests`) sends it — ``state["digest"]``: ``key``, ``parent`` (the digest
post's ``ts``, None for a new top-level post) and ``step`` (``convert``: re-post the first
post's page in the thread; ``update``: edit the parent; ``replies``: post the pages in the
thread). Each step is paced and retried like a post; an edit refused for good
(``message_not_found``, ``cant_update_message``, …) starts a new digest instead.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..core.log_fields import entry_fields
from ..delivery.classify import is_auth_error
from ..formatting.message import SlackMessage
from ..model.errors import PermanentDeliveryError
from ..store.base import OutboxEntry
from .digests import is_critical

if TYPE_CHECKING:
    from .posting import Deliverer

__all__ = ["broadcast", "plan_for", "start", "take_steps"]

logger = logging.getLogger(__name__)


def plan_for(deliverer: Deliverer, entry: OutboxEntry) -> dict[str, Any] | None:
    """Return (deciding once, saved with the entry) where a live digest sends *entry*."""
    digests = deliverer.digests
    state = entry.state
    if "digest" in state:
        plan: dict[str, Any] | None = state["digest"]
        return plan
    if digests is None or state.get("posted") or not digests.enabled(entry.channel_id):
        return None
    key = digests.key_for(entry)
    record = digests.find(key, deliverer.timers.clock.now(), len(entry.messages))
    plan = {"key": key, "parent": record.ts if record else None, "step": None}
    state["digest"] = plan
    deliverer.save_progress(entry)
    return plan


async def take_steps(deliverer: Deliverer, entry: OutboxEntry, plan: dict[str, Any]) -> bool:
    """Take *entry* into its live digest up to its replies; True if dead-lettered."""
    while plan["parent"] and plan["step"] != "replies" and not deliverer.stopping:
        if await _step(deliverer, entry, plan):
            return True
    return False


def broadcast(entry: OutboxEntry, plan: dict[str, Any], page: SlackMessage) -> SlackMessage:
    """Return page 1 of a digest reply holding a critical item as a broadcast reply."""
    if plan["parent"] and is_critical(entry.messages):
        return replace(page, metadata={**page.metadata, "reply_broadcast": True})
    return page


async def _step(deliverer: Deliverer, entry: OutboxEntry, plan: dict[str, Any]) -> bool:
    """Re-post the first page in the thread, or edit the parent; True if dead-lettered."""
    digests = deliverer.digests
    assert digests is not None
    await deliverer.wait_turn(entry)
    if deliverer.stopping:
        return False
    now = deliverer.timers.clock.now()
    record = digests.get(plan["key"], now)
    if record is None or record.ts != plan["parent"]:
        _restart(deliverer, entry, plan, "it expired or was replaced", forget=False)
        return False
    step = plan["step"] or ("update" if record.converted else "convert")
    plan["step"] = step
    if not await _mark(deliverer, entry, plan, step):
        return False
    channel = entry.channel_id
    joined = record
    try:
        async with deliverer.calling(channel):
            if step == "convert":
                page = digests.first_post_reply(record)
                if page is not None:
                    await deliverer.sender.post(page, channel=channel, thread_ts=record.ts)
            else:
                joined = digests.joined(record, entry, now)
                update = getattr(deliverer.sender, "update")  # noqa: B009 - can_update checked
                await update(digests.summary(joined), channel=channel, ts=record.ts)
    except asyncio.CancelledError:
        raise
    except PermanentDeliveryError as exc:
        entry.state.pop("attempting", None)
        if is_auth_error(exc.code):
            return deliverer.failed(entry, exc)
        _restart(deliverer, entry, plan, f"the {step} was refused: {exc.code}", forget=True)
        return False
    except Exception as exc:
        return deliverer.failed(entry, exc)
    deliverer.succeeded(entry)
    if step == "convert":
        if not digests.converted(record):  # a restart before it is written re-posts the page
            deliverer.metrics.count("possible_duplicates")
        plan["step"] = "update"
        deliverer.metrics.post_succeeded(channel, [])
    else:
        digests.save(joined)
        plan["step"] = "replies"
        deliverer.metrics.count("digest_updates")
    deliverer.probe_passed(entry)
    deliverer.save_progress(entry)
    return False


async def _mark(deliverer: Deliverer, entry: OutboxEntry, plan: dict[str, Any], step: str) -> bool:
    """Save the step about to be taken; False when a conversion's mark could not be stored.

    A conversion re-posts a page: its ``attempting`` mark must be stored first (a crash
    mid-call then counts a possible duplicate); an edit is harmless to repeat.
    """
    entry.attempts += 1
    if step != "convert":
        deliverer.save_progress(entry)
        return True
    entry.state["attempting"] = "convert"
    if await deliverer.save_attempt(entry):
        return True
    plan["step"] = None
    return False


def _restart(
    deliverer: Deliverer, entry: OutboxEntry, plan: dict[str, Any], why: str, *, forget: bool
) -> None:
    """Post *entry* as a new top-level post (a new digest) instead of into *plan*'s."""
    logger.info(
        "live digest %s in %s: %s; starting a new one",
        plan["parent"],
        entry.channel_id,
        why,
        extra=entry_fields(entry),
    )
    if forget and deliverer.digests is not None:
        deliverer.digests.forget(plan["key"])
    plan["parent"] = None
    plan["step"] = None
    deliverer.metrics.count("digests_restarted")
    deliverer.save_progress(entry)


def start(deliverer: Deliverer, entry: OutboxEntry, plan: dict[str, Any]) -> None:
    """Make *entry*'s first post the live digest of *plan*'s key (after it was delivered)."""
    posted = entry.state.get("posted") or []
    ts = posted[0] if posted else None
    if deliverer.digests is None or ts is None or entry.state.get("parent_ts") is not None:
        return  # no ts, or it replied in a related thread: not a digest post
    try:
        deliverer.digests.start(entry, plan["key"], ts, deliverer.timers.clock.now())
    except Exception:  # the post is out; a store failure only costs the digest
        logger.exception(
            "could not remember the live digest of %s",
            entry.channel_id,
            extra=entry_fields(entry),
        )
        return
    deliverer.metrics.count("digests_started")
