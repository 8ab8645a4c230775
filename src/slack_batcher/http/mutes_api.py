"""``/v1/mutes``: list, add and remove mutes (API token), with the events each kept."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator

from ..model.errors import BatchNotFoundError
from ..model.mute import SCOPE_PATTERN, Mute, parse_scope
from .api import problems
from .mutes import mute_gate, new_mute_id
from .state import require_token

__all__ = ["MuteIn", "mutes_router"]

#: The longest mute: 30 days (a mute is for a storm, not for ever).
MAX_MINUTES = 30 * 24 * 60


class MuteIn(BaseModel):
    """A mute to add: what, where, for how long, and why."""

    scope: str = Field(
        min_length=3,
        max_length=300,
        pattern=SCOPE_PATTERN,
        description="alert:<alertname>[/<service>], pr:<owner/repo>#<n>, jira:<KEY>, "
        "digest:<digest key>",
    )
    channel: str | None = Field(
        default=None, min_length=1, max_length=255, description="Only this channel (default all)"
    )
    minutes: int = Field(default=60, ge=1, le=MAX_MINUTES, description="How long it holds")
    reason: str = Field(default="", max_length=500)
    by: str = Field(default="api", min_length=1, max_length=200, description="Who mutes")
    covers_critical: bool = Field(default=False, description="Also keep critical events out")

    @field_validator("scope")
    @classmethod
    def _scope(cls, value: str) -> str:
        return parse_scope(value)


mutes_router = APIRouter(
    prefix="/v1/mutes",
    tags=["mutes"],
    dependencies=[Depends(require_token)],
    responses=problems(
        _400="The body is not valid JSON",
        _401="Missing or invalid bearer token",
        _422="Invalid request: the body names every bad field",
        _413="The body is over the size limit",
        _503="The store cannot be read or written",
    ),
)
"""The mute routes; every one requires the bearer token when the server has one."""


@mutes_router.get("", summary="List mutes (in force, or all with ?all=true)")
async def list_mutes(
    request: Request, all: Annotated[bool, Query(description="Ended ones too")] = False
) -> dict[str, Any]:
    """List the mutes in force (or every kept one) with the events each kept."""
    gate = mute_gate(request)
    counts = gate.mutes.counts()
    now = gate.now()
    mutes = [m for m in gate.mutes.listed() if all or m.active(now)]
    return {"mutes": [gate.describe(m, counts) for m in mutes]}


@mutes_router.post("", status_code=201, summary="Mute a scope for a while")
async def add_mute(request: Request, body: MuteIn) -> JSONResponse:
    """Add a mute; events of its scope are kept, not posted, until it ends."""
    gate = mute_gate(request)
    now = gate.now()
    until = now + timedelta(minutes=body.minutes)
    mute = Mute(
        id=new_mute_id(),
        scope=body.scope,
        channel=body.channel,
        created_by=body.by,
        created_at=now,
        until=until,
        reason=body.reason,
        covers_critical=body.covers_critical,
    )
    gate.mutes.add(mute)
    return JSONResponse(gate.describe(mute, {}), status_code=201)


@mutes_router.get(
    "/{mute_id}",
    summary="One mute and the latest events it kept",
    responses=problems(_404="Unknown mute id"),
)
async def get_mute(
    request: Request, mute_id: str, limit: Annotated[int, Query(ge=0, le=1000)] = 100
) -> dict[str, Any]:
    """Return one kept mute with its latest muted events; 404 when unknown."""
    gate = mute_gate(request)
    found = next((m for m in gate.mutes.listed() if m.id == mute_id), None)
    if found is None:
        raise BatchNotFoundError(f"no mute with id {mute_id!r}")
    events = [e.to_dict() for e in gate.mutes.events(mute_id, limit)]
    return {**gate.describe(found, gate.mutes.counts()), "events": events}


@mutes_router.delete(
    "/{mute_id}",
    summary="End a mute now (its kept events stay counted)",
    responses=problems(_404="Unknown mute id"),
)
async def remove_mute(request: Request, mute_id: str) -> dict[str, Any]:
    """End a mute: its scope posts again from the next event; 404 when unknown."""
    gate = mute_gate(request)
    found = gate.mutes.remove(mute_id)
    if found is None:
        raise BatchNotFoundError(f"no mute with id {mute_id!r}")
    return {**gate.describe(found, gate.mutes.counts()), "active": False, "removed": True}
