"""Every error as an RFC 9457 problem body (the body limits are in :mod:`.body`).

Error bodies name the offending field and never echo request values back: a token pasted
into the wrong field must not come back in a response or a log line.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..model.errors import BatchNotFoundError, InvalidMessageError, StoreError
from .schemas import Problem, ProblemField

__all__ = ["install_problem_handlers", "problem_response"]

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


def problem_response(
    status: int,
    detail: str,
    *,
    errors: Sequence[ProblemField] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Return a ``application/problem+json`` response."""
    body = Problem(
        title=HTTPStatus(status).phrase, status=status, detail=detail, errors=list(errors)
    )
    return JSONResponse(
        body.model_dump(), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def _field_of(loc: Sequence[int | str], body: object) -> tuple[str, str]:
    """Return (dotted field, location) for a validation error location.

    The body is "one event or a list": pydantic tags each union branch in the location; keep
    the branch the client actually sent and drop the tag.
    """
    location = str(loc[0]) if loc else "body"
    rest = list(loc[1:])
    tag = rest[0] if location == "body" and rest else None
    if isinstance(tag, str) and (tag == "MessageIn" or tag.startswith("list[")):
        rest = rest[1:]
    parts: list[str] = []
    for part in rest:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + part)
    return "".join(parts) or location, location


def _branch_matches(loc: Sequence[int | str], body: object) -> bool:
    if len(loc) < 2 or loc[0] != "body" or not isinstance(loc[1], str):
        return True
    tag = loc[1]
    if tag == "MessageIn":
        return not isinstance(body, list)
    if tag.startswith("list["):
        return isinstance(body, list)
    return True


def _validation_problem(exc: RequestValidationError) -> JSONResponse:
    raw_errors: list[dict[str, Any]] = list(exc.errors())
    body = getattr(exc, "body", None)
    if any(e.get("type") == "json_invalid" for e in raw_errors):
        return problem_response(400, "the request body is not valid JSON")
    errors: list[ProblemField] = []
    seen: set[tuple[str, str]] = set()
    for error in raw_errors:
        loc = tuple(error.get("loc", ()))
        if not _branch_matches(loc, body):
            continue
        field, location = _field_of(loc, body)
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        if error.get("type") == "missing" and location == "body" and field == "body":
            message = "a JSON event object or a list of events is required"
        if (field, message) in seen:
            continue
        seen.add((field, message))
        errors.append(ProblemField(field=field, location=location, message=message))
    if not errors:  # the body matched neither branch at its top level
        errors.append(
            ProblemField(
                field="body", location="body", message="expected an event object or a list"
            )
        )
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
    if len(errors) > 5:
        detail += f"; …and {len(errors) - 5} more"
    return problem_response(422, detail, errors=errors)


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error response a problem body."""

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return _validation_problem(exc)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers) if exc.headers else None
        return problem_response(exc.status_code, str(exc.detail), headers=headers)

    async def on_invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, InvalidMessageError)
        field = ProblemField(field=exc.field, location="body", message=exc.problem)
        return problem_response(422, str(exc), errors=[field])

    async def on_not_found(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(404, str(exc))

    async def on_store(request: Request, exc: Exception) -> JSONResponse:
        logger.error("store error on %s %s: %s", request.method, request.url.path, exc)
        return problem_response(503, "the batch store is unavailable; try again later")

    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(InvalidMessageError, on_invalid)
    app.add_exception_handler(BatchNotFoundError, on_not_found)
    app.add_exception_handler(StoreError, on_store)
