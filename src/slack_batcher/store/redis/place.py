"""The arguments of the ``place`` script: one message and the rules of its channel."""

from __future__ import annotations

from datetime import datetime, timedelta

from ...model.batch import BatchGroup
from ...model.config import BatchConfig
from ...model.digest_key import digest_key
from ...model.message import BatchableMessage, BatchType
from ...model.similarity import AUTHOR_WEIGHT, SCOPE_WEIGHT, TYPE_WEIGHT, GroupingRules, profile_of
from ..codec import message_body, micros, time_text
from .codec import batch_head, partition_text, profile_text

__all__ = ["place_arguments"]

_MICROSECOND = timedelta(microseconds=1)


def place_arguments(
    message: BatchableMessage,
    channel_id: str,
    *,
    batch_id: str,
    now: datetime,
    config: BatchConfig,
    policy: GroupingRules,
    sliding_cap: timedelta | None,
    enabled: bool,
    owner: str,
    claim_until: datetime,
) -> list[object]:
    """Return ``place``'s ARGV after the prefix (see ``_redis_shared_lua.py`` for the order).

    *batch_id* names the batch the message opens if it joins none; *owner* claims the batch
    until *claim_until* if the message fills it.
    """
    profile = profile_of(message)
    partition = policy.partition_of(message, profile) if policy.partitioned else ()
    window = config.max_batch_age
    opened = BatchGroup(
        id=batch_id,
        channel_id=channel_id,
        batch_type=BatchType.for_content_type(message.content_type),
        created_at=now,
        expires_at=now + window,
    )
    leading = config.flush_leading
    return [
        channel_id,
        message.id,
        message_body(message),
        profile_text(profile),
        partition_text(partition),
        message.size_bytes,
        time_text(now),
        opened.id,
        batch_head(opened),
        micros(opened.due_at),
        config.max_batch_size,
        int(message.priority in config.urgent_priorities),
        int(enabled),
        int(policy.by_similarity),
        repr(policy.threshold),
        owner,
        micros(claim_until),
        repr(SCOPE_WEIGHT),
        repr(AUTHOR_WEIGHT),
        repr(TYPE_WEIGHT),
        int(policy.needs_scope),
        micros(now),
        window // _MICROSECOND,
        0 if sliding_cap is None else sliding_cap // _MICROSECOND,
        int(leading),
        digest_key([message], config.digest_by) if leading else "",
    ]
