"""create_app: the FastAPI application over a running :class:`BatchingService`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from .. import __version__
from ..model.people import People
from ..routing.table import RouteTable
from ..runtime.service import BatchingService
from ..sources.settings import SourcesSettings
from .api import add_ingest_route, api_router
from .api_routes import require_channel_in_schema
from .auth import TokenAuth
from .body import BodyMiddleware
from .dashboard import dashboard_router
from .docs import install_offline_docs
from .guard import LoopbackGuardMiddleware
from .interactions import InteractionsCollector, InteractionsState, interactions_router
from .metrics import metrics_registry
from .mutes import MuteGate, MutesCollector
from .mutes_api import mutes_router
from .problems import install_problem_handlers
from .request_metrics import RequestMetricsMiddleware
from .settings import ServerSettings
from .slack_settings import SlackSettings
from .sources import SourcesState, sources_router
from .sources_metrics import SourcesCollector
from .state import AppState

__all__ = ["create_app"]

logger = logging.getLogger(__name__)

DESCRIPTION = """Channel-aware batching of Slack notifications.

`POST /v1/messages` takes one event or a list; related events per channel become one Block
Kit post when their batch is full, urgent, or its window closes. Every `/v1` route needs
`Authorization: Bearer <SLACK_BATCHER_API_TOKEN>` when the server has a token; `/healthz`,
`/readyz` and `/metrics` are open. Errors are `application/problem+json` bodies that name
each bad field."""


def create_app(
    service: BatchingService,
    *,
    settings: ServerSettings | None = None,
    manage_service: bool = False,
    sources: SourcesSettings | None = None,
    routes: RouteTable | None = None,
    slack: SlackSettings | None = None,
    people: People | None = None,
) -> FastAPI:
    """Build the app over *service*.

    *settings* supplies the API token, body limits and dashboard refresh (defaults: no
    token, 1 MiB). With *manage_service* the app starts the service on startup and closes it
    (draining the outbox) on shutdown; otherwise the caller runs it. *sources* and
    *routes* enable the webhook endpoints (docs/sources.md; default: all disabled).
    *slack* with a signing secret enables Slack interactivity (docs/slack-app.md);
    *people* maps GitHub logins and Jira emails to Slack users to mention who must act.
    """
    server = settings if settings is not None else ServerSettings()
    state = AppState(service=service, auth=TokenAuth(server.token()), settings=server)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if manage_service:
            await service.start()
        try:
            yield
        finally:
            if manage_service:
                await service.aclose()

    app = FastAPI(
        title="slack-batcher",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served offline by install_offline_docs
        redoc_url=None,
    )
    app.state.slack_batcher = state
    app.state.slack_batcher_sources = sources_state = SourcesState.build(sources, routes)
    app.state.slack_batcher_mutes = mutes = MuteGate(service)
    chosen = slack if slack is not None else SlackSettings()
    interactivity = InteractionsState.build(service, chosen, mutes)
    app.state.slack_batcher_interactions = interactivity
    service.digest_controls.people = people
    service.digest_controls.mention_by_channel = (routes or RouteTable()).channel_mentions()
    install_problem_handlers(app)
    add_ingest_route(app.router)  # first: the hot path's route is matched first
    app.include_router(api_router)
    app.include_router(mutes_router)
    app.include_router(interactions_router)
    app.include_router(dashboard_router)
    app.include_router(sources_router)
    install_offline_docs(app, title="slack-batcher")
    registry = metrics_registry(service.batcher)
    registry.register(SourcesCollector(sources_state))
    registry.register(MutesCollector(mutes))
    if interactivity is not None:
        registry.register(InteractionsCollector(interactivity))

    @app.get(
        "/healthz",
        summary="Liveness: the process answers (503 once only a restart lets it accept events)",
        tags=["probes"],
        responses={503: {"description": "Restart needed: a group commit failed"}},
    )
    async def healthz() -> Any:
        if service.needs_restart:
            body = {"status": "restart needed", "reason": service.refusal or ""}
            return JSONResponse(body, status_code=503)
        return {"status": "ok"}

    @app.get(
        "/readyz",
        summary="Readiness: the service accepts events (503 while starting, shutting down, "
        "or while the store cannot write)",
        tags=["probes"],
        responses={503: {"description": "Not accepting events"}},
    )
    async def readyz() -> Any:
        if not service.accepting:
            reason = service.refusal or "not accepting events"
            return JSONResponse({"status": "not ready", "reason": reason}, status_code=503)
        problem = service.batcher.store.check_writable()
        if problem:
            reason = f"the store cannot write: {problem}"
            return JSONResponse({"status": "not ready", "reason": reason}, status_code=503)
        return {"status": "ready"}

    @app.get(
        "/metrics",
        summary="Prometheus metrics",
        tags=["probes"],
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
    )
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    if not sources_state.routes:  # the schema then says every event names its channel
        app.openapi_schema = require_channel_in_schema(app.openapi())
    _add_middleware(app, server, auth_enabled=state.auth.enabled, registry=registry)
    return app


def _add_middleware(
    app: FastAPI, server: ServerSettings, *, auth_enabled: bool, registry: CollectorRegistry
) -> None:
    """Wrap *app* in the body bounds, the tokenless guard (if needed) and request metrics."""
    app.add_middleware(
        BodyMiddleware, max_bytes=server.max_body_bytes, max_seconds=server.max_body_seconds
    )
    if not auth_enabled:  # with a token the guard steps aside: no layer to pass
        # Outermost: a misdirected or cross-origin request is refused before its body is read.
        app.add_middleware(LoopbackGuardMiddleware, enabled=True)
    # Outside everything, so refused requests are counted and timed too.
    templates = [
        path
        for route in (
            *api_router.routes,
            *mutes_router.routes,
            *interactions_router.routes,
            *sources_router.routes,
            *dashboard_router.routes,
            *app.router.routes,
        )
        if isinstance(path := getattr(route, "path", None), str)
    ]
    app.add_middleware(RequestMetricsMiddleware, registry=registry, templates=templates)
