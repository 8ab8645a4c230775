"""The /v1 API: ingest, control, inspection, stats, health and dead letters."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from pydantic import Field

from ..formatting.message import SlackMessage
from ..model.errors import BatchNotFoundError, InvalidMessageError, StoreError, StoreFullError
from ..model.message import BatchableMessage
from ..model.mute import MutedEvent
from ..runtime.service import ServiceClosedError
from .api_routes import route_api_event
from .fast_route import fast_body_route
from .mutes import mute_gate
from .problems import PROBLEM_JSON, problem_response
from .schemas import (
    DeadLetterList,
    FlushResult,
    IngestResponse,
    IngestResult,
    MessageIn,
    PendingBatches,
    Problem,
    ReplayResult,
)
from .sources import sources_state
from .state import AppState, get_state, require_token, state_of

__all__ = ["add_ingest_route", "api_router"]

logger = logging.getLogger(__name__)


def problems(**descriptions: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses for problem bodies, e.g. ``problems(_404="Unknown id")``."""
    return {
        int(status.lstrip("_")): {
            "model": Problem,
            "description": description,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status, description in descriptions.items()
    }


_PROBLEMS = problems(
    _401="Missing or invalid bearer token",
    _422="Invalid request: the body names every bad field",
)
_NOT_FOUND = problems(_404="Unknown id")
#: A list of events: at least one (the per-request maximum is a setting, answered with 413).
EventList = Annotated[list[MessageIn], Field(min_length=1)]
StateDep = Annotated[AppState, Depends(get_state)]
ChannelFilter = Annotated[
    str | None, Query(min_length=1, max_length=255, description="Only this channel")
]


def _flush_result(flushed: dict[str, list[SlackMessage]]) -> FlushResult:
    ids: list[str] = []
    messages = 0
    for posts in flushed.values():
        for post in posts:
            ids.append(str(post.metadata.get("batch_id", "")))
            messages += int(post.metadata.get("message_count", 0))
    return FlushResult(flushed_batches=len(ids), flushed_messages=messages, batch_ids=ids)


def _muted_result(event: MutedEvent) -> IngestResult:
    return IngestResult(
        id=event.message.id,
        channel=event.channel,
        batch_id=None,
        duplicate=False,
        flushed=False,
        muted=event.mute_id,
    )


def _request_order(
    results: list[IngestResult], planned: list[tuple[BatchableMessage, str, str]]
) -> None:
    """Sort *results* (muted ones first) back into the order of the request."""
    order: dict[tuple[str, str], int] = {}
    for position, (message, channel, _) in enumerate(planned):
        order.setdefault((message.id, channel), position)
    results.sort(key=lambda r: order.get((r.id, r.channel), 0))


api_router = APIRouter(prefix="/v1", dependencies=[Depends(require_token)], responses=_PROBLEMS)
"""The /v1 routes; every one requires the bearer token when the server has one."""


async def submit(body: Annotated[MessageIn | EventList, Body()], request: Request) -> Response:
    """Validate every event, then add each to its channel's batches (202).

    An event without a ``channel`` goes where the ``[[routes]]`` send it (source ``api``).
    """
    state = state_of(request)  # not a dependency: one less for FastAPI to solve per request
    batcher = state.service.batcher
    items = body if isinstance(body, list) else [body]
    many = isinstance(body, list)
    limit = state.settings.max_messages_per_request
    if len(items) > limit:
        return problem_response(
            413, f"body: {len(items)} events in one request; the limit is {limit}"
        )
    planned: list[tuple[BatchableMessage, str, str]] = []
    for index, item in enumerate(items):
        prefix = f"[{index}]." if many else ""
        try:
            message = item.to_message()
            routed = (
                ((item.channel, ""),)
                if item.channel
                else route_api_event(sources_state(request).routes, message)
            )
            for channel, _ in routed:
                batcher.check_message(message, channel)
        except InvalidMessageError as exc:
            field = "channel" if exc.field == "channel_id" else exc.field
            raise InvalidMessageError(prefix + field, exc.problem) from None
        planned.extend((message, channel, route) for channel, route in routed)
    results: list[IngestResult] = []
    gate = mute_gate(request)
    try:
        prepared, muted = gate.split(planned)
        gate.keep(muted)  # kept before the rest: a failure below reports them accepted
        results.extend(_muted_result(event) for event in muted)
        added_all, error = await state.service.submit_many(prepared)
        for (message, channel), added in zip(prepared, added_all, strict=False):
            results.append(
                IngestResult(
                    id=message.id,
                    channel=channel,
                    batch_id=added.batch_id,
                    duplicate=added.duplicate,
                    flushed=added.flushed is not None,
                    flush_reason=added.flush_reason,
                )
            )
        if isinstance(error, InvalidMessageError):  # checked above already; kept as a guard
            index = len(results)
            field = "channel" if error.field == "channel_id" else error.field
            note = f" ({index} earlier events were accepted)" if index else ""
            prefix = f"[{index}]." if many else ""
            raise InvalidMessageError(prefix + field, error.problem + note) from None
        if error is not None:
            raise error
    except StoreError as exc:
        # Events before this one are stored; this one may be too (its batch then failed to
        # flush). Resending is safe: an id still pending in its channel is ignored.
        logger.error("store error after accepting %d of %d: %s", len(results), len(items), exc)
        why = "its disk is full" if isinstance(exc, StoreFullError) else "it cannot write"
        return problem_response(
            503,
            f"the batch store failed: {why}; {len(results)} of {len(items)} events were "
            "accepted (listed first in the request); resend the rest",
            headers={"Retry-After": "30" if isinstance(exc, StoreFullError) else "5"},
        )
    except ServiceClosedError as exc:
        if results:  # those already accepted are safe in the store; say which
            logger.warning("service closed after accepting %d of %d", len(results), len(items))
        return problem_response(
            503,
            f"{exc}; {len(results)} of {len(items)} events were "
            "accepted (listed first in the request); resend the rest",
            headers={"Retry-After": "5"},
        )
    if muted:
        _request_order(results, planned)
    duplicates = sum(r.duplicate for r in results)
    answer = IngestResponse(
        accepted=len(results) - duplicates,
        duplicates=duplicates,
        muted=len(muted),
        results=results,
    )
    # Built and checked here, so FastAPI need not validate it again (the hot path).
    return Response(answer.model_dump_json(), status_code=202, media_type="application/json")


def add_ingest_route(router: APIRouter) -> None:
    """Add ``POST /v1/messages`` to *router*: the app's own router, ahead of every other route.

    Declared as if on :data:`api_router` (same path, token dependency, responses and schema),
    but not routed through it: the hot path then matches on its first try, with no included
    router to pass through (about 5% of the CPU an event costs).
    """
    router.add_api_route(
        "/v1/messages",
        submit,
        methods=["POST"],
        status_code=202,
        response_model=IngestResponse,
        dependencies=[Depends(require_token)],
        responses={
            **_PROBLEMS,
            **problems(
                _400="The body is not valid JSON",
                _413="The body, or the number of events, is over the limit",
                _503="The service is shutting down",
            ),
        },
        summary="Submit one event or a list of events for batching",
        # Valid JSON with the right token skips FastAPI's per-request dependency solving.
        route_class_override=fast_body_route(MessageIn | EventList, submit),
    )


@api_router.post("/flush", response_model=FlushResult, summary="Flush pending batches now")
async def flush(state: StateDep, channel: ChannelFilter = None) -> FlushResult:
    """Flush every pending batch, or one channel's; delivery follows."""
    batcher = state.service.batcher
    if channel is None:
        flushed = batcher.flush_all_batches()
    else:
        flushed = {channel: batcher.flush_channel_batches(channel)}
    state.service.notify()
    return _flush_result(flushed)


@api_router.post(
    "/batches/{batch_id}/flush",
    response_model=FlushResult,
    responses=_NOT_FOUND,
    summary="Flush one pending batch now",
)
async def flush_batch(state: StateDep, batch_id: str) -> FlushResult:
    """Flush one pending batch now; 404 if it is gone."""
    batcher = state.service.batcher
    message = batcher.force_flush_batch(batch_id)
    if message is None:
        raise BatchNotFoundError(f"no pending batch with id {batch_id!r}")
    state.service.notify()
    return _flush_result({message.channel or "": [message]})


@api_router.get("/batches", response_model=PendingBatches, summary="Inspect pending batches")
async def batches(state: StateDep, channel: ChannelFilter = None) -> dict[str, Any]:
    """Describe pending batches without sending anything."""
    batcher = state.service.batcher
    return batcher.inspect_pending_batches(channel)


@api_router.get("/stats", summary="Global statistics (the batcher's get_batch_stats())")
async def stats(state: StateDep, request: Request) -> dict[str, Any]:
    """Return the batcher's statistics (delivery figures included) and the muted events.

    With webhook sources in use, ``sources`` holds each one's deliveries by outcome
    (``duplicate``: a redelivery refused before it reached the batcher).
    """
    batcher = state.service.batcher
    stats = batcher.get_batch_stats()
    muted = mute_gate(request).safe_summary()
    if "events" in muted:
        stats["muted_events"] = muted["events"]  # flat, for tables; details under "muted"
    stats["muted"] = muted
    sources = sources_state(request).summary()
    if sources:
        stats["sources"] = sources
    return stats


@api_router.get(
    "/channels/{channel_id}/stats", responses=_NOT_FOUND, summary="One channel's statistics"
)
async def channel_stats(state: StateDep, channel_id: str) -> dict[str, Any]:
    """Return one channel's statistics; 404 for a channel never seen."""
    batcher = state.service.batcher
    found = batcher.get_channel_stats(channel_id)
    if found is None:
        raise BatchNotFoundError(f"no statistics for channel {channel_id!r}")
    return found.to_dict()


@api_router.get(
    "/health",
    responses={503: {"description": "Unhealthy: the same body, with the failing checks"}},
    summary="Health status with named checks (503 when unhealthy)",
)
async def health(state: StateDep, response: Response) -> dict[str, Any]:
    """Return the health status; HTTP 503 when unhealthy."""
    batcher = state.service.batcher
    status = batcher.get_health_status()
    if status["status"] == "unhealthy":
        response.status_code = 503
    return status


@api_router.get("/dead-letters", response_model=DeadLetterList, summary="List dead letters")
async def dead_letters(state: StateDep, channel: ChannelFilter = None) -> dict[str, Any]:
    """List dead letters, oldest first."""
    batcher = state.service.batcher
    return {"dead_letters": [d.to_dict() for d in batcher.dead_letters(channel)]}


@api_router.post(
    "/dead-letters/{letter_id}/replay",
    response_model=ReplayResult,
    responses=_NOT_FOUND,
    summary="Re-queue a dead letter's messages for batching",
)
async def replay(state: StateDep, letter_id: str) -> ReplayResult:
    """Re-queue a dead letter's messages for batching."""
    batcher = state.service.batcher
    requeued = batcher.replay_dead_letter(letter_id)
    state.service.notify()
    return ReplayResult(id=letter_id, requeued=requeued)
