"""The dashboard's HTML, login and action guards (the browser test clicks through it)."""

from __future__ import annotations

import re

import httpx

from slack_batcher import ManualClock
from slack_batcher.http.auth import SESSION_COOKIE
from tests.test_http_harness import AUTH, TOKEN, event, in_process

ORIGIN = {"Origin": "http://127.0.0.1:8787"}


async def csrf_of(client: httpx.AsyncClient) -> dict[str, str]:
    """The hidden CSRF field of the dashboard's forms, as form data."""
    page = (await client.get("/?refresh=0")).text
    [value] = set(re.findall(r'name="csrf" value="([0-9a-f]+)"', page))
    return {"csrf": value}


async def test_with_a_token_the_dashboard_asks_for_it_and_keeps_a_digest_cookie(
    clock: ManualClock,
) -> None:
    async with in_process(clock) as app:
        closed = await app.client.get("/")
        assert closed.status_code == 401 and 'name="token"' in closed.text.replace("'", '"')
        wrong = await app.client.post("/dashboard/login", data={"token": "nope"})
        assert wrong.status_code == 401
        login = await app.client.post("/dashboard/login", data={"token": TOKEN})
        assert login.status_code == 303
        cookie = login.cookies[SESSION_COOKIE]
        assert cookie and TOKEN not in cookie
        header = login.headers["set-cookie"].lower()
        assert "httponly" in header and "samesite=strict" in header
        opened = await app.client.get("/")  # the client keeps the cookie
        assert opened.status_code == 200 and "Pending batches" in opened.text


async def test_actions_need_the_session_and_refuse_cross_site_requests(
    clock: ManualClock,
) -> None:
    async with in_process(clock) as app:
        await app.client.post("/v1/messages", json=event("gh-1"), headers=AUTH)
        anonymous = await app.client.post("/dashboard/flush")
        assert anonymous.status_code == 401
        await app.client.post("/dashboard/login", data={"token": TOKEN})  # keeps the cookie
        forged = await app.client.post(
            "/dashboard/flush", headers={"Origin": "https://evil.example"}
        )
        assert forged.status_code == 403
        cross = await app.client.post("/dashboard/flush", headers={"Sec-Fetch-Site": "cross-site"})
        assert cross.status_code == 403
        assert app.batcher.get_batch_stats()["messages_pending"] == 1
        form = await csrf_of(app.client)
        same = await app.client.post("/dashboard/flush", data=form, headers=ORIGIN)
        assert same.status_code == 303 and same.headers["location"] == "/?done=flushed&n=1"
        assert app.batcher.get_batch_stats()["messages_pending"] == 0


async def test_without_a_token_the_dashboard_is_open_and_refreshes_itself(
    clock: ManualClock,
) -> None:
    async with in_process(clock, token=None) as app:
        page = await app.client.get("/")
        assert page.status_code == 200
        assert '<meta http-equiv="refresh" content="5;url=/?refresh=5">' in page.text
        still = await app.client.get("/?refresh=0")
        assert 'http-equiv="refresh"' not in still.text


async def test_message_text_cannot_inject_markup_into_the_dashboard(clock: ManualClock) -> None:
    async with in_process(clock, token=None) as app:
        hostile = event("x-1", "<svg>onload=alert(1)", title='<script>alert("t")</script>')
        assert (await app.client.post("/v1/messages", json=hostile)).status_code == 202
        page = (await app.client.get("/?refresh=0")).text
        assert "<script>alert" not in page and "<svg>onload" not in page
        assert "&lt;script&gt;alert" in page


async def test_missing_batches_and_letters_are_explained_not_errors(clock: ManualClock) -> None:
    async with in_process(clock, token=None) as app:
        form = await csrf_of(app.client)
        gone = await app.client.post("/dashboard/batches/b_gone/flush", data=form)
        assert gone.status_code == 303 and "done=missing" in gone.headers["location"]
        page = await app.client.get(gone.headers["location"])
        assert "gone already" in page.text
        letter = await app.client.post("/dashboard/dead-letters/dl_gone/replay", data=form)
        assert "done=missing" in letter.headers["location"]


async def test_forms_carry_a_csrf_token_and_actions_without_it_are_refused(
    clock: ManualClock,
) -> None:
    async with in_process(clock, channels=["#dev-api"]) as app:
        await app.client.post("/v1/messages", json=event("gh-1", "#gone"), headers=AUTH)
        await app.client.post("/v1/flush", headers=AUTH)
        await app.service.settle()
        [letter] = app.batcher.dead_letters()
        await app.client.post("/dashboard/login", data={"token": TOKEN})  # keeps the cookie
        form = await csrf_of(app.client)
        assert TOKEN not in form["csrf"]
        replay = f"/dashboard/dead-letters/{letter.id}/replay"
        # The cookie alone, no Origin header (an old browser, a stripped header): refused.
        bare = await app.client.post(replay)
        assert bare.status_code == 403 and "CSRF" in bare.text
        assert bare.headers["content-type"].startswith("text/html")
        assert 'href="/"' in bare.text.replace("'", '"'), "a way back to the dashboard"
        forged = await app.client.post(replay, data={"csrf": "0" * 64})
        assert forged.status_code == 403
        # A sandboxed frame or data: page sends Origin: null, even with the right token.
        null = await app.client.post(replay, data=form, headers={"Origin": "null"})
        assert null.status_code == 403
        assert [d.id for d in app.batcher.dead_letters()] == [letter.id], "nothing replayed"
        done = await app.client.post(replay, data=form, headers=ORIGIN)
        assert done.status_code == 303 and "done=replayed" in done.headers["location"]
        assert app.batcher.dead_letters() == []


async def test_without_a_token_dashboard_actions_still_need_the_form_token(
    clock: ManualClock,
) -> None:
    async with in_process(clock, token=None) as app:
        await app.client.post("/v1/messages", json=event("gh-1"))
        bare = await app.client.post("/dashboard/flush")
        assert bare.status_code == 403
        assert app.batcher.get_batch_stats()["messages_pending"] == 1
        done = await app.client.post("/dashboard/flush", data=await csrf_of(app.client))
        assert done.status_code == 303
        assert app.batcher.get_batch_stats()["messages_pending"] == 0


async def test_dashboard_pages_cannot_be_framed_or_run_scripts(clock: ManualClock) -> None:
    async with in_process(clock) as app:
        login = await app.client.get("/")
        await app.client.post("/dashboard/login", data={"token": TOKEN})
        page = await app.client.get("/")
        for answer in (login, page):
            assert answer.headers["x-frame-options"] == "DENY"
            policy = answer.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy
            assert "script-src" not in policy  # so no script runs at all
            assert answer.headers["cache-control"] == "no-store"
