"""FakeSlack's HTTP side: decoding requests, injecting faults and answering like Slack."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ._records import Fault, RecordedRequest
from ._workspace import Answer, Workspace

__all__ = ["WEBHOOK_STATUS", "Handlers"]

#: Status and body a webhook answers for a Slack error code (anything else: 400).
WEBHOOK_STATUS: dict[str, int] = {
    "invalid_payload": 400,
    "no_text": 400,
    "invalid_blocks": 400,
    "msg_too_long": 400,
    "too_many_attachments": 400,
    "user_not_found": 404,
    "channel_not_found": 404,
    "thread_not_found": 404,
    "no_service": 404,
    "action_prohibited": 403,
    "posting_to_general_channel_denied": 403,
    "invalid_token": 403,
    "team_disabled": 403,
    "channel_is_archived": 410,
    "is_archived": 410,
    "ratelimited": 429,
    "rollup_error": 500,
}
_METHODS = frozenset({"chat.postMessage", "chat.update", "chat.delete", "auth.test", "api.test"})
_SERVER_ERROR_PAGE = "<html><body><h1>{status}</h1>Slack is having trouble.</body></html>"


def _decode_blocks(params: dict[str, Any]) -> str | None:
    """Decode JSON-string ``blocks``/``attachments`` (form bodies); return an error code."""
    for name in ("blocks", "attachments"):
        value = params.get(name)
        if isinstance(value, str):
            try:
                params[name] = json.loads(value)
            except ValueError:
                return f"invalid_{name}_format"
    return None


async def _read_params(request: web.Request) -> tuple[dict[str, Any], str | None]:
    """Return the request's arguments and a body error code (None when it decoded)."""
    params: dict[str, Any] = dict(request.query)
    if request.method != "POST" or not request.can_read_body:
        return params, None
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            return params, "invalid_json"
        if not isinstance(body, dict):
            return params, "json_not_object"
        params.update(body)
    else:
        form = await request.post()
        params.update({key: value for key, value in form.items() if isinstance(value, str)})
    return params, _decode_blocks(params)


def _bearer(request: web.Request, params: dict[str, Any]) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    token = params.get("token")
    return token if isinstance(token, str) and token else None


class Handlers:
    """The request handlers of one FakeSlack; they run in its server thread."""

    def __init__(self, workspace: Workspace) -> None:
        self._workspace = workspace
        self._inflight: set[asyncio.Task[Any]] = set()
        #: What apps sent to the ``response_url`` s of clicks, oldest first.
        self.responses: list[dict[str, Any]] = []

    def app(self) -> web.Application:
        """Return the aiohttp application serving the Web API and incoming webhooks."""
        app = web.Application(middlewares=[self._track])
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/services/{path:.*}", self._webhook)
        app.router.add_post("/actions/{path:.*}", self._response_url)
        return app

    async def _response_url(self, request: web.Request) -> web.Response:
        """Record what an app answers to a click (``response_url``), like Slack: ``ok``."""
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        if not isinstance(body, dict):
            return web.Response(status=400, text="invalid_payload")
        self.responses.append({"path": request.match_info["path"], **body})
        return web.Response(text="ok")

    @web.middleware
    async def _track(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Remember in-flight requests, so that stop() can cut slow ones short."""
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            return await handler(request)
        finally:
            if task is not None:
                self._inflight.discard(task)

    async def cancel_inflight(self) -> None:
        """Cut every request still being answered (slow faults) short."""
        pending = list(self._inflight)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def _log(
        self,
        request: web.Request,
        method: str,
        params: dict[str, Any],
        token: str | None,
        status: int,
        error: str | None,
        fault: bool = False,
    ) -> None:
        channel = params.get("channel")
        self._workspace.record(
            RecordedRequest(
                method=method,
                channel=channel if isinstance(channel, str) else None,
                status=status,
                error=error,
                params=params,
                token=token,
                content_type=request.content_type,
                received_at=self._workspace.clock.now(),
                fault=fault,
            )
        )

    async def _apply_fault(
        self,
        fault: Fault,
        request: web.Request,
        render: Callable[[Answer], web.Response],
        log: Callable[[int, str | None], None],
    ) -> web.StreamResponse | None:
        """Carry out *fault*; return the answer, or None to go on as usual after a delay."""
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.drop:
            log(0, fault.error or "connection_dropped")
            if request.transport is not None:
                request.transport.close()
            raise asyncio.CancelledError  # aiohttp drops the request quietly
        if fault.status is not None and fault.status >= 500 and fault.error is None:
            log(fault.status, f"http_{fault.status}")
            page = _SERVER_ERROR_PAGE.format(status=fault.status)
            return web.Response(status=fault.status, text=page, content_type="text/html")
        if fault.error is None and fault.status is None:
            return None
        error = fault.error or ("ratelimited" if fault.status == 429 else "internal_error")
        status = fault.status or (429 if error == "ratelimited" else 200)
        headers = {"Retry-After": str(fault.retry_after or 1)} if status == 429 else {}
        log(status, error)
        return render(Answer(status, {"ok": False, "error": error}, headers))

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params, body_error = await _read_params(request)
        token = _bearer(request, params)
        fault = self._workspace.take_fault(method, params.get("channel"))
        if fault is not None:
            faulted = await self._apply_fault(
                fault,
                request,
                _json_answer,
                lambda status, error: self._log(
                    request, method, params, token, status, error, True
                ),
            )
            if faulted is not None:
                return faulted
        answer = self._api_answer(method, params, token, body_error)
        self._log(request, method, params, token, answer.status, answer.error)
        return _json_answer(answer)

    def _api_answer(
        self, method: str, params: dict[str, Any], token: str | None, body_error: str | None
    ) -> Answer:
        if body_error is not None:
            return Answer(200, {"ok": False, "error": body_error}, {})
        if method not in _METHODS:
            return Answer(200, {"ok": False, "error": "unknown_method"}, {})
        if method == "api.test":
            return Answer(200, {"ok": True, "args": params}, {})
        auth_error = self._workspace.auth_error(token)
        if auth_error is not None:
            return Answer(200, {"ok": False, "error": auth_error}, {})
        if method == "auth.test":
            return self._workspace.auth_test()
        if method == "chat.update":
            return self._workspace.update(params)
        if method == "chat.delete":
            return self._workspace.delete(params)
        channel = params.get("channel")
        return self._workspace.post(params, via="api", channel=channel)

    async def _webhook(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        with self._workspace.lock:
            channel = self._workspace.webhooks.get(path)
        params, body_error = await _read_params(request)
        if isinstance(params.get("payload"), str):  # the legacy form encoding
            try:
                params = dict(json.loads(params.pop("payload")))
            except ValueError:
                body_error = "invalid_payload"
        record = {**params, "channel": channel}
        fault = self._workspace.take_fault("webhook", channel)
        if fault is not None:
            faulted = await self._apply_fault(
                fault,
                request,
                _webhook_answer,
                lambda status, error: self._log(
                    request, "webhook", record, None, status, error, True
                ),
            )
            if faulted is not None:
                return faulted
        if channel is None:
            answer = Answer(404, {"ok": False, "error": "no_service"}, {})
        elif body_error is not None:
            answer = Answer(400, {"ok": False, "error": "invalid_payload"}, {})
        else:
            answer = self._workspace.post(params, via="webhook", channel=channel)
        self._log(request, "webhook", record, None, answer.status, answer.error)
        return _webhook_answer(answer)


def _json_answer(answer: Answer) -> web.Response:
    return web.json_response(answer.body, status=answer.status, headers=answer.headers)


def _webhook_answer(answer: Answer) -> web.Response:
    """Render a Web API answer the way incoming webhooks answer: a status and a word."""
    error = answer.error
    if error is None:
        return web.Response(status=200, text="ok", content_type="text/html")
    status = WEBHOOK_STATUS.get(error, 400) if answer.status == 200 else answer.status
    if error == "ratelimited":
        error = "rate_limited"
    return web.Response(status=status, text=error, content_type="text/html", headers=answer.headers)
