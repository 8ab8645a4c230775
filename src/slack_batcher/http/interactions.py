"""``POST /v1/slack/interactions``: clicks on a digest's controls (Mute, Acknowledge, Unmute).

Enabled by ``[slack] signing_secret``; without it the route answers 404 and posts carry no
controls. Each request is checked in this order, before anything is acted on:

1. the body size (``[slack] max_body_bytes``) → 413;
2. Slack's signature, with slack_sdk's :class:`~slack_sdk.signature.SignatureVerifier`
   (``v0=`` HMAC-SHA256 of ``v0:{timestamp}:{raw body}``, timestamp within 5 minutes of the
   service clock) → 401; a signature seen before (a replay) → 401;
3. the form body's ``payload`` (JSON, ``block_actions``) → 400 naming the field; another
   payload type is answered 200 and counted;
4. each action: one of ours (``sb:…``) with a value this service signed
   (:class:`~slack_batcher.model.control.ControlSigner`) for the channel it was clicked in
   → else 403 (a forged scope, a click from another channel); an action not ours is 200 and
   counted as ``unknown``.

The answer (200, empty) goes out at once, within Slack's 3 seconds; the work follows:
the mute or acknowledgement is stored, the digest post is re-rendered (``chat.update``) and
the clicker gets an ephemeral confirmation through ``response_url`` (only to
``[slack] response_url_prefixes``).
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, BackgroundTasks, Request, Response
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector
from slack_sdk.signature import Clock as SlackClock
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook.async_client import AsyncWebhookClient

from ..formatting.controls import LINE_ACTION_ID, controls_block, with_controls
from ..formatting.message import SlackMessage
from ..formatting.mute_note import Note
from ..model.clock import Clock
from ..model.control import Control, ControlSigner, action_id, mute_minutes
from ..model.errors import StoreError
from ..model.message import BatchableMessage
from ..model.mute import Mute, common_scope, line_scopes
from ..runtime.digests import LiveDigests
from ..runtime.service import BatchingService
from .mutes import MuteGate, new_mute_id
from .problems import problem_response
from .slack_settings import SlackSettings

__all__ = ["InteractionsCollector", "InteractionsState", "interactions_router"]

logger = logging.getLogger(__name__)

#: How long an acknowledgement shows (unless the alert fires again after resolving).
ACK_HOURS = 24
#: Signatures remembered against replays: Slack's window is 5 minutes either side.
_REPLAY_SECONDS = 11 * 60
_MAX_REMEMBERED = 50_000
OUTCOMES = (
    "accepted",
    "unauthorized",
    "replayed",
    "malformed",
    "too_large",
    "refused",
    "unknown",
    "ignored",
    "failed",
)


class _ServiceClock(SlackClock):
    """slack_sdk's verifier reads the time from the service clock (tests move it)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def now(self) -> float:
        return self.clock.now().timestamp()


class Malformed(ValueError):
    """An interaction payload is not what Slack sends; ``field`` names the offending field."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        super().__init__(f"{field}: {problem}")


@dataclass(frozen=True, slots=True)
class Click:
    """One verified click: the control, who, where, and where to answer."""

    control: Control
    user: str
    user_name: str
    message_ts: str
    response_url: str


@dataclass
class InteractionsState:
    """Interactivity of one app: verifier, signer, counters and the replay memory."""

    service: BatchingService
    settings: SlackSettings
    gate: MuteGate
    signer: ControlSigner
    verifier: SignatureVerifier
    digests: LiveDigests
    counts: Counter[str] = field(default_factory=Counter)
    _seen: dict[str, float] = field(default_factory=dict)

    @classmethod
    def build(
        cls, service: BatchingService, settings: SlackSettings, gate: MuteGate
    ) -> InteractionsState | None:
        """Return the state, or None when no signing secret is set (interactivity off).

        Also turns the controls on for the service's digest posts.
        """
        secret = settings.secret()
        if secret is None:
            return None
        state = cls(
            service=service,
            settings=settings,
            gate=gate,
            signer=ControlSigner(secret),
            verifier=SignatureVerifier(secret, clock=_ServiceClock(service.clock)),
            digests=LiveDigests(service.batcher, service.digest_controls),
        )
        service.digest_controls.add = state.add_controls
        return state

    # ------------------------------------------------------------------ posting side

    def add_controls(
        self,
        page: SlackMessage,
        channel: str,
        messages: Sequence[BatchableMessage],
        key: str,
        notes: list[Note],
    ) -> SlackMessage:
        """Return *page* with Mute / Acknowledge / Unmute buttons signed for *channel*."""
        scope = common_scope(messages, key)
        muted = any(n.kind == "mute" and n.scope == scope for n in notes)
        acked = any(n.kind == "ack" and n.scope == scope for n in notes)

        def sign(action: str) -> str:
            return self.signer.value(action, channel, key, scope)

        lines = [
            (line, self.signer.value("mute:240", channel, key, line))
            for line in line_scopes(messages)
            if line != scope
        ]
        block = controls_block(sign, muted=muted, acknowledged=acked, lines=lines)
        return with_controls(page, block)

    # ------------------------------------------------------------------ checks

    def replayed(self, signature: str) -> bool:
        """Remember *signature*; True when it was seen within the replay window."""
        now = time.monotonic()
        seen = self._seen
        if len(seen) >= _MAX_REMEMBERED:
            for old in [s for s, t in seen.items() if now - t > _REPLAY_SECONDS]:
                del seen[old]
            while len(seen) >= _MAX_REMEMBERED:
                del seen[next(iter(seen))]
        at = seen.get(signature)
        if at is not None and now - at <= _REPLAY_SECONDS:
            return True
        seen[signature] = now
        return self._shared_replay(signature)

    def _shared_replay(self, signature: str) -> bool:
        """On Redis, ask every instance's memory too (a replay to another instance)."""
        shared = self.service.batcher.store.shared_store()  # Redis: the store itself
        if shared is None:
            return False
        seen = shared.seen_ids(1, timedelta(seconds=_REPLAY_SECONDS))
        key = f"slack-signature:{signature}"
        try:
            mark = str(seen.claim([key], self.service.clock.now())[key])
            if mark == "new":
                seen.confirm([key], self.service.clock.now())
        except StoreError as exc:  # this instance's memory still holds
            logger.warning("could not share a Slack signature against replays: %s", exc)
            return False
        return mark != "new"

    def clicks(self, payload: dict[str, Any]) -> tuple[list[Click], int, str | None]:
        """Return (our verified clicks, actions not ours, refusal) of a block_actions payload."""
        user = _obj(payload, "user")
        user_id = _str(user, "user.id")
        user_name = str(user.get("username") or user.get("name") or user_id)
        channel = _obj(payload, "channel")
        channel_id = _str(channel, "channel.id")
        container = _obj(payload, "container")
        message_ts = str(container.get("message_ts") or "")
        response_url = str(payload.get("response_url") or "")
        actions = payload.get("actions")
        if not isinstance(actions, list) or not actions:
            raise Malformed("actions", "expected a non-empty list")
        clicks: list[Click] = []
        unknown = 0
        for index, action in enumerate(actions):
            if not isinstance(action, dict):
                raise Malformed(f"actions[{index}]", "expected an object")
            name = action.get("action_id")
            if not isinstance(name, str) or not name.startswith("sb:"):
                unknown += 1
                continue
            value = action.get("value")
            selected = action.get("selected_option")
            if value is None and isinstance(selected, dict):
                value = selected.get("value")
            control = self.signer.verify(value) if isinstance(value, str) else None
            line = name == LINE_ACTION_ID and control is not None and control.action == "mute:240"
            if control is None or (action_id(control.action) != name and not line):
                return [], unknown, "the control's value is not one this service signed"
            if control.channel != channel_id:
                return [], unknown, "the control belongs to a post in another channel"
            clicks.append(Click(control, user_id, user_name, message_ts, response_url))
        return clicks, unknown, None

    # ------------------------------------------------------------------ acting

    async def act(self, click: Click) -> None:
        """Store what *click* asks, re-render the post, confirm to the clicker."""
        try:
            note = self._apply(click)
            await self._refresh(click)
        except Exception:
            self.counts["failed"] += 1
            logger.exception("acting on a Slack click (%s) failed", click.control.action)
            note = "Sorry, that did not work; try again, or use `slack-batcher mutes`."
        await self._respond(click.response_url, note)

    def _apply(self, click: Click) -> str:
        control = click.control
        now = self.service.clock.now()
        mutes = self.gate.mutes
        minutes = mute_minutes(control.action)
        if minutes is not None:
            until = now + timedelta(minutes=minutes)
            mutes.add(self._record(click, now, until, "mute"))
            return (
                f"Muted `{control.scope}` in this channel until {until:%H:%M} UTC: its events "
                "are kept and counted, not posted (`slack-batcher mutes list`)."
            )
        if control.action == "ack":
            mutes.add(self._record(click, now, now + timedelta(hours=ACK_HOURS), "ack"))
            return f"Acknowledged `{control.scope}`: the post says you are on it."
        ended = [
            m
            for m in mutes.active(now)
            if m.kind == "mute"
            and m.scope == control.scope
            and m.channel in (None, control.channel)
        ]
        for mute in ended:
            mutes.remove(mute.id)
        if not ended:
            return f"`{control.scope}` was not muted here."
        return f"Unmuted `{control.scope}`: its events post again from the next one."

    def _record(self, click: Click, now: datetime, until: datetime, kind: str) -> Mute:
        control = click.control
        return Mute(
            id=new_mute_id(),
            scope=control.scope,
            channel=control.channel,
            created_by=click.user,
            created_at=now,
            until=until,
            reason=f"from Slack by {click.user_name}"[:200],
            kind=kind,
        )

    async def _refresh(self, click: Click) -> None:
        """Edit the clicked digest post so it shows the new state (when it is still live)."""
        control = click.control
        store = self.service.batcher.store
        record = store.get_digest(f"{control.channel}\x1f{control.key}", self.service.clock.now())
        update = getattr(self.service.sender, "update", None)
        if record is None or record.ts != click.message_ts or update is None:
            return
        await update(self.digests.current_parent(record), channel=control.channel, ts=record.ts)

    async def _respond(self, url: str, text: str) -> None:
        if not url or not any(url.startswith(p) for p in self.settings.response_url_prefixes):
            return
        try:
            body = {"response_type": "ephemeral", "replace_original": False, "text": text}
            await AsyncWebhookClient(url, timeout=5).send_dict(body)
        except Exception as exc:  # the action is done; only the confirmation is lost
            logger.warning("could not answer a Slack click through its response_url: %s", exc)


def _obj(payload: dict[str, Any], name: str) -> dict[str, Any]:
    value = payload.get(name)
    if not isinstance(value, dict):
        raise Malformed(name, "expected an object")
    return value


def _str(obj: dict[str, Any], path: str) -> str:
    value = obj.get(path.rpartition(".")[2])
    if not isinstance(value, str) or not value:
        raise Malformed(path, "expected a non-empty string")
    return value


def _payload(body: bytes) -> dict[str, Any]:
    try:
        form = parse_qs(body.decode("utf-8"), max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        raise Malformed("payload", "the body is not a URL-encoded form") from None
    raw = form.get("payload")
    if not raw:
        raise Malformed("payload", "missing: Slack sends payload=<JSON>")
    try:
        payload = json.loads(raw[0])
    except (ValueError, RecursionError):
        raise Malformed("payload", "not valid JSON") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        raise Malformed("payload.type", "expected an object with a type")
    return payload


interactions_router = APIRouter(prefix="/v1/slack", tags=["slack"])
"""The Slack interactivity route; it authenticates by Slack's signature (no API token)."""


def interactions_state(request: Request) -> InteractionsState | None:
    """Return the app's interactivity state (None: disabled)."""
    state: InteractionsState | None = request.app.state.slack_batcher_interactions
    return state


_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Acknowledged: the work follows (or the payload is not ours)"},
    400: {"description": "The payload is not what Slack sends (names the field)"},
    401: {"description": "Missing, wrong, stale (over 5 minutes) or replayed signature"},
    403: {"description": "A control value this service did not sign, or from another channel"},
    404: {"description": "Interactivity is disabled (no [slack] signing_secret)"},
    413: {"description": "The body is over [slack] max_body_bytes"},
}


@interactions_router.post(
    "/interactions",
    responses=_RESPONSES,
    summary="Slack interactivity: clicks on digest controls",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}},
        }
    },
)
async def interactions(request: Request, background: BackgroundTasks) -> Response:
    """Verify Slack's signature, check the click, answer at once and act after."""
    state = interactions_state(request)
    if state is None:
        return problem_response(
            404, "Slack interactivity is disabled: set [slack] signing_secret to enable it"
        )
    counts = state.counts
    limit = state.settings.max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        counts["too_large"] += 1
        return problem_response(413, f"the request body is larger than {limit} bytes")
    body = await request.body()
    if len(body) > limit:
        counts["too_large"] += 1
        return problem_response(413, f"the request body is larger than {limit} bytes")
    timestamp = request.headers.get("x-slack-request-timestamp")
    signature = request.headers.get("x-slack-signature")
    try:
        valid = state.verifier.is_valid(body, timestamp, signature)
    except ValueError:  # a timestamp that is not a number
        valid = False
    if not valid or signature is None:
        counts["unauthorized"] += 1
        return problem_response(
            401, "the Slack signature is missing, wrong or older than 5 minutes"
        )
    if state.replayed(signature):
        counts["replayed"] += 1
        return problem_response(401, "this signed request was received before (a replay)")
    try:
        payload = _payload(body)
        if payload["type"] != "block_actions":
            counts["ignored"] += 1
            return Response(status_code=200)
        clicks, unknown, refusal = state.clicks(payload)
    except Malformed as exc:
        counts["malformed"] += 1
        return problem_response(400, str(exc))
    counts["unknown"] += unknown
    if refusal is not None:
        counts["refused"] += 1
        logger.warning("refused a Slack click: %s", refusal)
        return problem_response(403, refusal)
    for click in clicks:
        counts["accepted"] += 1
        background.add_task(state.act, click)
    return Response(status_code=200)


class InteractionsCollector(Collector):
    """``slack_batcher_slack_interactions_total{outcome}``."""

    def __init__(self, state: InteractionsState) -> None:
        self.state = state

    def describe(self) -> list[Metric]:
        """Return nothing: families are built at scrape time."""
        return []

    def collect(self) -> Iterator[Metric]:
        """Yield the interaction counts by outcome."""
        family = CounterMetricFamily(
            "slack_batcher_slack_interactions",
            "Slack interactivity requests (clicks on controls) by outcome.",
            labels=["outcome"],
        )
        for outcome in OUTCOMES:
            family.add_metric([outcome], self.state.counts[outcome])
        yield family
