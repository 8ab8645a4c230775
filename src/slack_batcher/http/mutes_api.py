"""``/v1/mutes``: list, add and remove mutes (API token), with the events each kept."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator

from ..model.errors import BatchNotFoundError, InvalidMessageError
from ..model.mute import Mute, parse_scope
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
        description="alert:<alertname>[/<service>], pr:<owner/repo>#<n>, jira:<KEY>, "
        "digest:<digest key>",
    )
    channel: str | None = Field(
        default=None, min_length=1, max_length=255, description="Only this channel (default all)"
    )
    minutes: int | None = Field(default=None, ge=1, le=MAX_MINUTES, description="Default 60")
    until: datetime | None = Field(default=None, description="Instead of minutes (with a zone)")
    reason: str = Field(default="", max_length=500)
    by: str = Field(default="api", min_length=1, max_length=200, description="Who mutes")
    covers_critical: bool = Field(default=False, description="Also keep critical events out")

    @field_validator("scope")
    @classmethod
    def _scope(cls, value: str) -> str:
        return parse_scope(value)

    @field_validator("until")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("needs a time zone, e.g. 2026-03-02T15:00:00Z")
        return value


mutes_router = APIRouter(prefix="/v1/mutes", tags=["mutes"], dependencies=[Depends(require_token)])
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
    if body.until is not None and body.minutes is not None:
        raise InvalidMessageError("until", "give minutes or until, not both")
    until = body.until or now + timedelta(minutes=body.minutes or 60)
    if until <= now:
        raise InvalidMessageError("until", "must be in the future")
    if until > now + timedelta(minutes=MAX_MINUTES):
        raise InvalidMessageError("until", f"at most {MAX_MINUTES // 1440} days ahead")
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


@mutes_router.get("/{mute_id}", summary="One mute and the latest events it kept")
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


@mutes_router.delete("/{mute_id}", summary="End a mute now (its kept events stay counted)")
async def remove_mute(request: Request, mute_id: str) -> dict[str, Any]:
    """End a mute: its scope posts again from the next event; 404 when unknown."""
    gate = mute_gate(request)
    found = gate.mutes.remove(mute_id)
    if found is None:
        raise BatchNotFoundError(f"no mute with id {mute_id!r}")
    return {**gate.describe(found, gate.mutes.counts()), "active": False, "removed": True}
