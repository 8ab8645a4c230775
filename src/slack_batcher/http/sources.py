"""``POST /v1/sources/{github,jira,alertmanager}``: provider webhooks in, routed messages out.

These routes sit outside the API's bearer-token scheme: each authenticates the way its
sender can (GitHub and Jira: HMAC-SHA256 of the raw body with the source's secret;
Alertmanager: ``Authorization: Bearer`` with its token). A source without a secret answers
404 — disabled, never open. The body size is checked before anything is hashed; a missing,
malformed or wrong signature is 401; a payload that is not what its event says is 400 naming
the field, and nothing of it is stored. Events the adapter does not report are answered 200
``ignored`` (never 4xx/5xx, which providers show as failed deliveries) and counted.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response

from ..model.errors import InvalidMessageError, StoreError
from ..model.message import BatchableMessage
from ..model.mute import MutedEvent
from ..routing.table import RouteTable
from ..runtime.service import ServiceClosedError
from ..sources import ADAPTERS, Adapted, PayloadError
from ..sources.counters import SourceCounters
from ..sources.settings import SourcesSettings
from ..sources.verify import verify_bearer, verify_hmac_sha256
from ..store.base import BatchStore, SeenIds
from ..store.recent_ids import RecentIds
from .api_routes import route_label
from .mutes import mute_gate
from .problems import problem_response
from .record import DeliveryRecorder
from .schemas import ProblemField
from .state import state_of

__all__ = [
    "SourcesState",
    "sources_router",
    "sources_state",
]

logger = logging.getLogger(__name__)

#: The header carrying each HMAC source's signature.
SIGNATURE_HEADERS = {"github": "X-Hub-Signature-256", "jira": "X-Hub-Signature"}


@dataclass
class SourcesState:
    """The source endpoints' configuration and counters, shared by the app's routes."""

    settings: SourcesSettings = field(default_factory=SourcesSettings)
    routes: RouteTable = field(default_factory=RouteTable)
    counters: SourceCounters = field(default_factory=SourceCounters)
    recent: RecentIds = field(default_factory=lambda: RecentIds(50_000))
    #: The accepted ids in use: the store's (see ``SeenIds``) or, without one, ``recent``.
    seen: SeenIds | None = None
    #: Appends accepted deliveries for ``slack-batcher replay`` (``[server] record_path``).
    recorder: DeliveryRecorder | None = None

    @classmethod
    def build(cls, settings: SourcesSettings | None, routes: RouteTable | None) -> SourcesState:
        """Build the state from the settings (defaults: every source disabled, no routes)."""
        chosen = settings if settings is not None else SourcesSettings()
        table = routes or RouteTable()
        enabled = chosen.enabled()
        if enabled:
            logger.info(
                "webhook sources enabled: %s (%d routes)", ", ".join(enabled), len(table.routes)
            )
            for warning in table.warnings(sources_enabled=True):
                logger.warning("%s", warning)
        return cls(chosen, table, SourceCounters(), RecentIds(chosen.remember_ids))

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per-source figures for the dashboard and stats."""
        return self.counters.summary(self.settings.enabled())


def seen_ids(state: SourcesState, store: BatchStore) -> SeenIds:
    """Return the accepted ids, kept by *store* (in this process for the memory store)."""
    if state.seen is None:
        settings = state.settings
        keep = timedelta(days=settings.remember_days)
        state.seen = store.seen_ids(settings.remember_ids, keep)
    return state.seen


def sources_state(request: Request) -> SourcesState:
    """Return the app's source state."""
    state: SourcesState = request.app.state.slack_batcher_sources
    return state


sources_router = APIRouter(prefix="/v1/sources", tags=["sources"])
"""The webhook endpoints; they authenticate themselves (no API bearer token)."""


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status_code=status, media_type="application/json")


def _check_signature(source: str, secret: str, request: Request, body: bytes) -> str | None:
    header = SIGNATURE_HEADERS[source]
    return verify_hmac_sha256(secret, body, request.headers.get(header), header)


def _parse(source: str, request: Request, body: bytes) -> object:
    content_type = request.headers.get("content-type", "")
    if source == "github" and content_type.startswith("application/x-www-form-urlencoded"):
        form = parse_qs(body.decode("utf-8", "replace"))
        if "payload" not in form:
            raise PayloadError("payload", "form body without a payload field")
        return json.loads(form["payload"][0])
    return json.loads(body)


async def _receive(request: Request, source: str) -> Response:
    state = sources_state(request)
    app_state = state_of(request)
    counters = state.counters
    secret = state.settings.credential(source)
    if secret is None:
        key = "token" if source == "alertmanager" else "secret"
        return problem_response(
            404, f"the {source} source is disabled: set [sources.{source}] {key} to enable it"
        )
    if source == "alertmanager":  # bearer: refuse before reading the body
        refusal = verify_bearer(secret, request.headers.get("authorization"))
        if refusal is not None:
            counters.delivery(source, "unauthorized")
            return problem_response(401, refusal, headers={"WWW-Authenticate": "Bearer"})
    body = await request.body()
    limit = app_state.settings.max_body_bytes
    if len(body) > limit:  # also enforced by the body limit middleware, before any hashing
        return problem_response(413, f"the request body is larger than {limit} bytes")
    if source != "alertmanager":
        refusal = _check_signature(source, secret, request, body)
        if refusal is not None:
            counters.delivery(source, "unauthorized")
            return problem_response(401, refusal)
    try:
        payload = _parse(source, request, body)
        adapted = ADAPTERS[source](payload, request.headers)
    except (ValueError, RecursionError) as exc:
        counters.delivery(source, "invalid")
        return _invalid(exc)
    if adapted.ignored is not None:
        response = _ignored(state, adapted)
    else:
        response = await _deliver(request, state, adapted)
    recording = app_state.settings.record_path
    if recording is not None and response.status_code < 300 and adapted.event != "ping":
        _recorder(state, recording, request).record(source, payload, request.headers)
    return response


def _recorder(state: SourcesState, path: Path, request: Request) -> DeliveryRecorder:
    """Return the app's recorder of accepted deliveries (``[server] record_path``)."""
    if state.recorder is None:
        state.recorder = DeliveryRecorder(path, state_of(request).service.clock)
    return state.recorder


def _invalid(exc: BaseException) -> Response:
    if isinstance(exc, PayloadError | InvalidMessageError):
        error = ProblemField(field=exc.field, location="body", message=exc.problem)
        return problem_response(400, str(exc), errors=[error])
    return problem_response(400, "body: not valid JSON")


def _ignored(state: SourcesState, adapted: Adapted) -> Response:
    state.counters.delivery(adapted.source, "ignored")
    state.counters.kind("ignored", adapted.source, adapted.event)
    if adapted.event == "ping":
        return _json(200, {"status": "pong", "source": adapted.source, "zen": adapted.note})
    body = {
        "status": "ignored",
        "source": adapted.source,
        "event": adapted.event,
        "reason": adapted.ignored,
    }
    return _json(200, body)


def _plan(
    state: SourcesState,
    adapted: Adapted,
    check: Callable[[BatchableMessage, str], None],
    seen: Mapping[str, str],
) -> tuple[list[tuple[BatchableMessage, str, str]], dict[str, int]]:
    """Route every event: (message, channel, route) to submit, and what was not submitted."""
    counts = {"duplicates": 0, "dropped": 0, "unrouted": 0}
    plan: list[tuple[BatchableMessage, str, str]] = []
    for event in adapted.events:
        if seen.get(event.message.id) == "seen":
            counts["duplicates"] += 1
            continue
        decision = state.routes.route(event)
        if decision.dropped:
            counts["dropped"] += 1
            state.counters.kind("dropped", event.source, event.kind)
            continue
        if decision.unrouted:
            counts["unrouted"] += 1
            if state.counters.kind("unrouted", event.source, event.kind):
                logger.warning(
                    "no route matches %s %s events (counted as unrouted; add a route)",
                    event.source,
                    event.kind,
                )
            continue
        for channel in decision.channels:
            check(event.message, channel)
            plan.append(
                (event.message, channel, route_label(state.routes, decision.routes, channel))
            )
    return plan, counts


async def _deliver(request: Request, state: SourcesState, adapted: Adapted) -> Response:
    service = state_of(request).service
    source = adapted.source
    seen = seen_ids(state, service.batcher.store)
    ids = list(dict.fromkeys(event.message.id for event in adapted.events))
    try:
        marks = seen.claim(ids, service.clock.now())
    except StoreError as exc:
        logger.error("%s delivery: cannot read the accepted ids: %s", source, exc)
        return _unavailable("the service cannot read the ids it accepted; redeliver later")
    # Ours to confirm once stored, or to release: the order that never drops a first delivery.
    claimed = [i for i in ids if marks[i] == "new"]
    if any(mark == "busy" for mark in marks.values()):
        _release(seen, claimed)
        busy = sum(1 for mark in marks.values() if mark == "busy")
        return _unavailable(
            f"{busy} of these messages are being accepted by another instance right "
            "now; redeliver later: an accepted one is then answered duplicate"
        )
    try:
        plan, counts = _plan(state, adapted, service.batcher.check_message, marks)
    except InvalidMessageError as exc:
        _release(seen, claimed)
        state.counters.delivery(source, "invalid")
        return _invalid(exc)
    results: list[dict[str, Any]] = []
    gate = mute_gate(request)
    muted: list[MutedEvent] = []
    error: Exception | None = None
    try:
        submit, muted = gate.split(plan)
        gate.keep(muted)
        for event in muted:
            results.append(
                {
                    "id": event.message.id,
                    "channel": event.channel,
                    "batch_id": None,
                    "duplicate": False,
                    "flushed": False,
                    "muted": event.mute_id,
                }
            )
        # One delivery, one unit: it joins one batch per channel and flushes whole.
        added, error = await service.submit_many(submit, unit=True)
        for (message, channel), result in zip(submit, added, strict=False):
            results.append(
                {
                    "id": message.id,
                    "channel": channel,
                    "batch_id": result.batch_id,
                    "duplicate": result.duplicate,
                    "flushed": result.flushed is not None,
                }
            )
    except (StoreError, ServiceClosedError) as exc:
        error = exc
    if error is not None:
        _release(seen, claimed)
        if isinstance(error, InvalidMessageError):
            state.counters.delivery(source, "invalid")
            return _invalid(error)
        logger.error(
            "%s delivery: %d of %d messages stored: %s", source, len(results), len(plan), error
        )
        return _unavailable(
            f"the service could not store the messages ({len(results)} of {len(plan)} stored); "
            "redeliver later: stored ones are recognised"
        )
    _remember(seen, claimed, {message.id for message, _, _ in plan}, service.clock.now())
    state.counters.message(source, len(results))
    outcome = _outcome(results, counts)
    state.counters.delivery(source, outcome)
    body = {"status": outcome, "source": source, "event": adapted.event, **counts}
    body["muted"] = len(muted)
    body["messages"] = results
    return _json(202, body)


def _unavailable(detail: str) -> Response:
    return problem_response(503, detail, headers={"Retry-After": "5"})


def _release(seen: SeenIds, ids: list[str]) -> None:
    """Give up claims; on failure they expire by themselves (see ``SeenIds``)."""
    if not ids:
        return
    try:
        seen.release(ids)
    except StoreError as exc:
        logger.warning("could not release %d claimed message ids: %s", len(ids), exc)


def _remember(seen: SeenIds, claimed: list[str], stored: set[str], now: datetime) -> None:
    """Confirm the stored ids, release the other claims (dropped or unrouted events).

    Runs only after every message is stored: a failure here means a redelivery is
    accepted again (posted twice), never that a first delivery is lost.
    """
    confirmed = [i for i in claimed if i in stored]
    try:
        seen.confirm(confirmed, now)
    except StoreError as exc:
        logger.warning("could not remember %d accepted message ids: %s", len(confirmed), exc)
    _release(seen, [i for i in claimed if i not in stored])


def _outcome(results: list[dict[str, Any]], counts: Mapping[str, int]) -> str:
    if results and not all(r["duplicate"] for r in results):
        return "accepted"
    if results or counts["duplicates"]:
        return "duplicate"
    if counts["dropped"]:
        return "dropped"
    return "unrouted"


_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Acknowledged, not batched: `ignored` (with the reason) or `pong`"},
    202: {"description": "Accepted: the messages and the channels they were routed to"},
    400: {"description": "The payload is not what its event says (names the field)"},
    401: {"description": "Missing, malformed or wrong signature / token"},
    404: {"description": "The source is disabled (no secret configured)"},
    413: {"description": "The body is over the size limit"},
    503: {"description": "The store is unavailable or the service is shutting down"},
}


def _body(description: str, *headers: tuple[str, str]) -> dict[str, Any]:
    """OpenAPI for a webhook: the provider's JSON body and headers (read raw, not validated)."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        "parameters": [
            {"name": name, "in": "header", "required": False, "description": text,
             "schema": {"type": "string"}}
            for name, text in headers
        ],
    }  # fmt: skip


@sources_router.post(
    "/github",
    responses=_RESPONSES,
    summary="GitHub webhook deliveries",
    openapi_extra=_body(
        "A GitHub webhook payload (application/json, or a form with a payload field)",
        ("X-GitHub-Event", "The event name, e.g. pull_request"),
        ("X-GitHub-Delivery", "The delivery's GUID: the message id"),
        ("X-Hub-Signature-256", "sha256=<HMAC-SHA256 of the raw body with the secret>"),
    ),
)
async def github(request: Request) -> Response:
    """Verify ``X-Hub-Signature-256``, adapt the ``X-GitHub-Event``, route and batch it."""
    return await _receive(request, "github")


@sources_router.post(
    "/jira",
    responses=_RESPONSES,
    summary="Jira admin webhooks",
    openapi_extra=_body(
        "A Jira Cloud webhook payload (webhookEvent, issue, changelog, comment)",
        ("X-Atlassian-Webhook-Identifier", "The delivery's id: the message id"),
        ("X-Hub-Signature", "sha256=<HMAC-SHA256 of the raw body with the secret>"),
    ),
)
async def jira(request: Request) -> Response:
    """Verify ``X-Hub-Signature``, adapt the ``webhookEvent``, route and batch it."""
    return await _receive(request, "jira")


@sources_router.post(
    "/alertmanager",
    responses=_RESPONSES,
    summary="Alertmanager webhook_config (version 4)",
    openapi_extra=_body("An Alertmanager notification, payload version 4 (alerts[])"),
)
async def alertmanager(request: Request) -> Response:
    """Check the bearer token, turn every alert into a message, route and batch them."""
    return await _receive(request, "alertmanager")
