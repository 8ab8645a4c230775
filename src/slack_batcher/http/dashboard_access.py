"""Who may use the dashboard: the login page, the session and CSRF checks, page headers.

A refused action answers an HTML page (the user clicked a button in a browser) that says
why and links back, never a JSON body.
"""

from __future__ import annotations

import html
from urllib.parse import parse_qs

from fastapi import Request
from fastapi.responses import HTMLResponse

from .auth import CSRF_FIELD
from .dashboard_css import DASHBOARD_CSS
from .guard import cross_origin_reason
from .state import AppState

__all__ = ["PAGE_HEADERS", "check_action", "check_same_site", "login_page", "refused_page"]

#: Headers of every dashboard page: never cached, never framed by another site (a framed
#: page would carry the CSRF token for a click-jacking page), no script at all, forms post
#: only here; images in previews may come from any http(s) URL.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src http: https: data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "same-origin",  # "no-referrer" would make the forms send Origin: null
    "X-Content-Type-Options": "nosniff",
}

_PAGE = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>slack-batcher</title>"
    "<meta name='viewport' content='width=device-width, initial-scale=1'>"
    "<style>{css}</style></head><body><main class='login'><h1>slack-batcher</h1>{body}"
    "</main></body></html>"
)
_LOGIN_FORM = (
    "<form method='post' action='/dashboard/login'><label>API token "
    "<input type='password' name='token' autocomplete='current-password' autofocus></label>"
    "<button type='submit' class='primary'>Open dashboard</button></form>"
)


def login_page(error: str = "") -> HTMLResponse:
    """Return the token form (401), with *error* (plain text) above the button if given."""
    notice = f"<p class='notice error'>{html.escape(error)}</p>" if error else ""
    body = _PAGE.format(css=DASHBOARD_CSS, body=_LOGIN_FORM + notice)
    return HTMLResponse(body, status_code=401, headers=PAGE_HEADERS)


def refused_page(status: int, reason: str) -> HTMLResponse:
    """Return a page saying that an action was refused and why; nothing was done."""
    body = (
        f"<p class='notice error' role='alert'>Refused: {html.escape(reason)}. Nothing was "
        "done.</p><p><a href='/'>Back to the dashboard</a></p>"
    )
    return HTMLResponse(
        _PAGE.format(css=DASHBOARD_CSS, body=body), status_code=status, headers=PAGE_HEADERS
    )


def check_same_site(request: Request) -> HTMLResponse | None:
    """Refuse (403) a request that a browser marks as coming from another origin."""
    reason = cross_origin_reason(request.headers)
    return None if reason is None else refused_page(403, f"cross-site request ({reason})")


async def check_action(request: Request, state: AppState) -> HTMLResponse | None:
    """Return a refusal unless the action is same-origin, logged in and carries the CSRF token."""
    refused = check_same_site(request)
    if refused is not None:
        return refused
    if not state.auth.session_valid(request):
        return refused_page(401, "open the dashboard and enter the API token first")
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    if not state.auth.csrf_valid((form.get(CSRF_FIELD) or [""])[0]):
        return refused_page(
            403,
            "the form's token (CSRF) is missing or out of date, for example after a restart; "
            "reload the dashboard and try again",
        )
    return None
