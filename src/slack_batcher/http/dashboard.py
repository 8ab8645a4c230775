"""The dashboard at ``/``: server-rendered HTML, no build step, no script.

It shows health checks, channels with pending counts and next due time, each pending
batch with a preview of the Slack message it would become, recent posts and dead letters,
with flush and replay buttons (plain HTML forms that POST and redirect back). The page
reloads itself every ``dashboard_refresh_seconds`` (``?refresh=N`` overrides, 0 stops).

With an API token configured the dashboard asks for it once and keeps a session cookie
(HttpOnly, SameSite=Strict) holding a digest of the token, never the token. Every action
form carries a CSRF token that only pages this server rendered know; actions without it,
or that the browser marks as coming from another origin (``Origin``, ``Sec-Fetch-Site``,
``Origin: null``), are refused with 403.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..model.errors import BatchNotFoundError
from .auth import CSRF_FIELD, SESSION_COOKIE
from .dashboard_access import PAGE_HEADERS, check_action, check_same_site, login_page
from .dashboard_css import DASHBOARD_CSS
from .dashboard_mutes import mutes_section
from .dashboard_sources import sources_section
from .mutes import mute_gate
from .preview import PREVIEW_CSS, render_message
from .sources import sources_state
from .state import AppState, get_state

StateDep = Annotated[AppState, Depends(get_state)]

__all__ = ["dashboard_router", "render_dashboard"]

MAX_BATCHES_SHOWN = 50
MAX_POSTS_SHOWN = 20
MAX_LETTERS_SHOWN = 50
_NOTICES = {
    "flushed": "Flushed {n} batch(es); delivery is under way.",
    "replayed": "Re-queued {n} message(s) for batching.",
    "missing": "That batch or dead letter is gone already (flushed or replayed elsewhere).",
}


def e(value: object) -> str:
    """HTML-escape any value for text or a quoted attribute."""
    return html.escape(str(value), quote=True)


def _when(iso: str | None, now: datetime) -> str:
    if not iso:
        return "—"
    seconds = (datetime.fromisoformat(iso) - now).total_seconds()
    span = _span(abs(seconds))
    text = f"in {span}" if seconds > 0 else f"{span} ago"
    return f'<time datetime="{e(iso)}" title="{e(iso)}">{text}</time>'


def _span(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


def _button(action: str, label: str, test_id: str, csrf: str, css: str = "") -> str:
    return (
        f'<form method="post" action="{e(action)}" class="inline">'
        f'<input type="hidden" name="{CSRF_FIELD}" value="{e(csrf)}">'
        f'<button type="submit" class="{css}" data-testid="{e(test_id)}">{e(label)}</button>'
        "</form>"
    )


def _badge(status: str) -> str:
    return f'<span class="badge {e(status)}">{e(status)}</span>'


def _cell(label: str, content: str) -> str:
    """Return a table cell labelled for narrow screens, where each row becomes a card."""
    return f'<td data-label="{e(label)}">{content}</td>'


def _health_section(health: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr>{_cell('check', e(name))}{_cell('status', _badge(check['status']))}"
        + _cell("value / threshold", f"{e(check['value'])} / {e(check['threshold'])}")
        + f"{_cell('', e(check['message']))}</tr>"
        for name, check in health["checks"].items()
    )
    return (
        '<section id="health"><h2>Health checks</h2><table><thead><tr><th>check</th>'
        f"<th>status</th><th>value / threshold</th><th></th></tr></thead><tbody>{rows}"
        "</tbody></table></section>"
    )


def _channels_section(
    state: AppState, stats: dict[str, Any], pending: dict[str, Any], now: datetime
) -> str:
    by_channel = stats["by_channel"]
    delivered = (stats.get("delivery") or {}).get("posts_by_channel") or {}
    lettered: dict[str, int] = {}
    for letter in state.service.batcher.dead_letters(None):
        lettered[letter.channel_id] = lettered.get(letter.channel_id, 0) + len(letter.messages)
    names = sorted(set(by_channel) | set(pending["channels"]) | set(lettered))
    rows = []
    for name in names:
        waiting = pending["channels"].get(name, {})
        figures = by_channel.get(name, {})
        flush = ""
        if waiting:
            flush = _button(
                f"/dashboard/channels/{_path(name)}/flush",
                "Flush channel",
                f"flush-{name}",
                state.auth.csrf_token(),
            )
        rows.append(
            f'<tr data-channel="{e(name)}">{_cell("channel", e(name))}'
            f"{_cell('pending batches', str(waiting.get('batch_count', 0)))}"
            f"{_cell('pending messages', str(waiting.get('message_count', 0)))}"
            f"{_cell('next due', _when(waiting.get('next_due_at'), now))}"
            f"{_cell('messages in', str(figures.get('messages_batched', 0)))}"
            f"{_cell('posts delivered', str(delivered.get(name, 0)))}"
            f"{_cell('in dead letters', str(lettered.get(name, 0)))}"
            f"{_cell('', flush)}</tr>"
        )
    body = "".join(rows) or '<tr><td colspan="8" class="muted">No channel yet.</td></tr>'
    return (
        '<section id="channels"><h2>Channels</h2><table><thead><tr><th>channel</th>'
        "<th>pending batches</th><th>pending messages</th><th>next due</th>"
        "<th>messages in</th><th>posts delivered</th><th>in dead letters</th><th></th></tr>"
        f"</thead><tbody>{body}</tbody></table></section>"
    )


def _path(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


def _batches_section(state: AppState, pending: dict[str, Any], now: datetime) -> str:
    batches = [b for channel in pending["channels"].values() for b in channel["batches"]]
    batches.sort(key=lambda b: b["due_at"])
    cards = []
    for batch in batches[:MAX_BATCHES_SHOWN]:
        preview = state.service.batcher.preview_batch(batch["id"])
        shown = render_message(preview) if preview else '<p class="muted">Flushed already.</p>'
        flush = _button(
            f"/dashboard/batches/{_path(batch['id'])}/flush",
            "Flush now",
            "flush-batch",
            state.auth.csrf_token(),
        )
        cards.append(
            f'<article class="batch" data-batch-id="{e(batch["id"])}">'
            f"<header><b>{e(batch['channel_id'])}</b> · {e(batch['batch_type'])} · "
            f"{batch['message_count']} message(s) · due {_when(batch['due_at'], now)}"
            f"{flush}"
            f'</header><div class="preview">{shown}</div></article>'
        )
    more = len(batches) - MAX_BATCHES_SHOWN
    if more > 0:
        cards.append(f'<p class="muted">…and {more} more pending batches.</p>')
    body = "".join(cards) or '<p class="muted">Nothing pending.</p>'
    return f'<section id="pending"><h2>Pending batches</h2>{body}</section>'


def _posts_section(state: AppState) -> str:
    posts = state.recent_posts()[:MAX_POSTS_SHOWN]
    cards = "".join(
        f'<article class="post"><header><b>{e(p.channel)}</b> · posted '
        f'<time datetime="{e(p.posted_at.isoformat())}">{e(p.posted_at.strftime("%H:%M:%S"))}'
        f"</time>{' · thread reply' if p.thread_ts else ''}</header>"
        f'<div class="preview">{render_message(p.message)}</div></article>'
        for p in posts
    )
    body = cards or '<p class="muted">No post yet.</p>'
    return f'<section id="recent"><h2>Recent posts</h2>{body}</section>'


def _letters_section(state: AppState, now: datetime) -> str:
    letters = state.service.batcher.dead_letters(None)
    rows = []
    for letter in letters[:MAX_LETTERS_SHOWN]:
        ids = ", ".join(m.id for m in letter.messages[:5])
        if len(letter.messages) > 5:
            ids += f", …{len(letter.messages) - 5} more"
        replay = _button(
            f"/dashboard/dead-letters/{_path(letter.id)}/replay",
            "Replay",
            "replay-letter",
            state.auth.csrf_token(),
        )
        rows.append(
            f'<tr data-letter-id="{e(letter.id)}">{_cell("channel", e(letter.channel_id))}'
            f"{_cell('reason', e(letter.reason))}"
            f"{_cell('messages', f'{len(letter.messages)}: {e(ids)}')}"
            f"{_cell('created', _when(letter.created_at.isoformat(), now))}"
            f"{_cell('', replay)}</tr>"
        )
    body = "".join(rows) or '<tr><td colspan="5" class="muted">No dead letter.</td></tr>'
    return (
        '<section id="dead-letters"><h2>Dead letters</h2><table><thead><tr><th>channel</th>'
        "<th>reason</th><th>messages</th><th>created</th><th></th></tr></thead>"
        f"<tbody>{body}</tbody></table></section>"
    )


def _summary(stats: dict[str, Any], health: dict[str, Any]) -> str:
    """Headline figures; delivered and dead-lettered are counted apart, never together."""
    delivery = stats.get("delivery") or {}
    delivered = int(delivery.get("messages_delivered", 0))
    posts = int(delivery.get("posts", 0))
    figures = [
        ("messages in", stats["messages_batched"]),
        ("pending", stats["messages_pending"]),
        ("outbox", stats["outbox_pending"]),
        ("messages delivered", delivered),
        ("messages dead-lettered", stats["messages_dead_lettered"]),
        ("Slack posts", posts),
        # The batcher's figure, as /v1/stats and /metrics say it (messages flushed minus the
        # batches they were flushed in); computing it beside them here made them disagree.
        ("posts saved", stats["api_posts_saved"]),
    ]
    cells = "".join(
        f'<div class="figure" data-figure="{e(k)}"><b>{e(v)}</b><span>{e(k)}</span></div>'
        for k, v in figures
    )
    return f'<section id="summary">{_badge(health["status"])}{cells}</section>'


def render_dashboard(
    state: AppState, *, refresh: int, notice: str | None, sources: str = ""
) -> str:
    """Return the dashboard page (*sources*: the webhook sources' section, already HTML)."""
    batcher = state.service.batcher
    now = batcher.clock.now()
    pending = batcher.inspect_pending_batches()
    stats = batcher.get_batch_stats()
    health = batcher.get_health_status()
    meta = f'<meta http-equiv="refresh" content="{refresh};url=/?refresh={refresh}">'
    flash = f'<p class="notice" role="status">{e(notice)}</p>' if notice else ""
    flush_all = _button(
        "/dashboard/flush", "Flush all", "flush-all", state.auth.csrf_token(), "primary"
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"{meta if refresh > 0 else ''}<title>slack-batcher</title>"
        f"<style>{PREVIEW_CSS}{DASHBOARD_CSS}</style></head><body>"
        f"<header class='top'><h1>slack-batcher</h1><span class='muted'>at "
        f"{e(now.strftime('%Y-%m-%d %H:%M:%S UTC'))} · store: "
        f"<span data-testid='store'>{e(batcher.store.describe())}</span></span>"
        f"{flush_all}</header><main>{flash}"
        f"{_summary(stats, health)}{_health_section(health)}"
        f"{_channels_section(state, stats, pending, now)}{sources}"
        f"{_batches_section(state, pending, now)}"
        f"{_posts_section(state)}{_letters_section(state, now)}</main></body></html>"
    )


dashboard_router = APIRouter(include_in_schema=False)
"""The dashboard's routes (not part of the OpenAPI schema)."""


def _back(notice: str, count: int = 0) -> RedirectResponse:
    return RedirectResponse(f"/?done={notice}&n={count}", status_code=303)


def _notice(request: Request) -> str | None:
    done = request.query_params.get("done", "")
    count = request.query_params.get("n", "0")
    if done not in _NOTICES:
        return None
    return _NOTICES[done].format(n=int(count) if count.isdecimal() and count.isascii() else 0)


@dashboard_router.get("/", response_class=HTMLResponse)
async def page(request: Request, state: StateDep, refresh: int | None = None) -> Response:
    """Show the dashboard (or the token form when a token is set and not yet given)."""
    if not state.auth.session_valid(request):
        return login_page()
    seconds = state.settings.dashboard_refresh_seconds if refresh is None else refresh
    body = render_dashboard(
        state,
        refresh=max(0, min(seconds, 3600)),
        notice=_notice(request),
        sources=sources_section(sources_state(request).summary())
        + mutes_section(mute_gate(request).safe_summary()),
    )
    return HTMLResponse(body, headers=PAGE_HEADERS)


@dashboard_router.post("/dashboard/login")
async def login(request: Request, state: StateDep) -> Response:
    """Check the API token from the form and open a session."""
    refused = check_same_site(request)
    if refused is not None:
        return refused
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    token = (form.get("token") or [""])[0]
    if not state.auth.token_matches(token):
        return login_page("That token is not the API token.")
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        state.auth.session_value(),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@dashboard_router.post("/dashboard/flush")
async def flush_all(request: Request, state: StateDep) -> Response:
    """Flush every pending batch."""
    if (refused := await check_action(request, state)) is not None:
        return refused
    flushed = state.service.batcher.flush_all_batches()
    state.service.notify()
    return _back("flushed", sum(len(v) for v in flushed.values()))


@dashboard_router.post("/dashboard/channels/{channel_id}/flush")
async def flush_channel(request: Request, state: StateDep, channel_id: str) -> Response:
    """Flush one channel's pending batches."""
    if (refused := await check_action(request, state)) is not None:
        return refused
    flushed = state.service.batcher.flush_channel_batches(channel_id)
    state.service.notify()
    return _back("flushed", len(flushed))


@dashboard_router.post("/dashboard/batches/{batch_id}/flush")
async def flush_batch(request: Request, state: StateDep, batch_id: str) -> Response:
    """Flush one pending batch."""
    if (refused := await check_action(request, state)) is not None:
        return refused
    if state.service.batcher.force_flush_batch(batch_id) is None:
        return _back("missing")
    state.service.notify()
    return _back("flushed", 1)


@dashboard_router.post("/dashboard/dead-letters/{letter_id}/replay")
async def replay(request: Request, state: StateDep, letter_id: str) -> Response:
    """Re-queue a dead letter's messages."""
    if (refused := await check_action(request, state)) is not None:
        return refused
    try:
        requeued = state.service.batcher.replay_dead_letter(letter_id)
    except BatchNotFoundError:
        return _back("missing")
    state.service.notify()
    return _back("replayed", requeued)
