"""Posting the demo's posts to a real Slack channel, paced, threads kept."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..delivery.base import Sender
from ..model.errors import DeliveryError, TransientDeliveryError

if TYPE_CHECKING:
    from .run import DemoPost

__all__ = ["post_for_real"]


async def post_for_real(
    posts: list[DemoPost],
    sender: Sender,
    channel: str,
    *,
    interval_seconds: float = 1.1,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Post the demo's posts to one real *channel*, paced, honouring Retry-After.

    Replies (continuation pages, related batches) go in the same threads as in the dry run.
    Return how many were posted; a permanent error (bad token, unknown channel) stops and is
    raised.
    """
    real_ts: dict[str, str] = {}
    posted = 0
    try:
        for index, post in enumerate(posts, start=1):
            thread = real_ts.get(post.thread_ts) if post.thread_ts else None
            for _attempt in range(5):
                try:
                    result = await sender.post(post.message, channel=channel, thread_ts=thread)
                    break
                except TransientDeliveryError as exc:
                    await asyncio.sleep(exc.retry_after or 5.0)
            else:
                raise DeliveryError("gave_up", f"post {index} kept failing")
            if post.ts and result.ts:
                real_ts[post.ts] = result.ts
            posted += 1
            if progress is not None:
                progress(index)
            await asyncio.sleep(interval_seconds)
    finally:
        await sender.close()
    return posted
