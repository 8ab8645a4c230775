"""Acting from Slack: a signed click on Mute answered, what the mute then keeps out, its cost.

Live part: the service runs in its own process (uvicorn, one worker) as `serve` runs it —
SQLite store, the Slack sender pointed at a FakeSlack in this process, a signing secret,
an Alertmanager route to #alerts. Two alerts make a digest post; FakeSlack then clicks its
Mute 1 h button the way Slack does (signed block_actions form, response_url served by
FakeSlack) CLICKS times and the time to each answer is measured. Then alerts of the muted
group and of another group arrive; what reaches Slack, /metrics and /v1/mutes are read, and
forged and 6-minute-old signatures are sent.

In-process part: the cost the mute check adds to ingest (``MuteGate.split`` per event,
SQLite store) with no mute, with 20 mutes that match nothing, and with a matching one (the
event is then kept: one SQLite transaction per call).
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.http_load import wait_until_listening
from slack_batcher.sources.samples import alert, alertmanager_notification, signed_request

TOKEN = "bench-token-0123456789"
AM_TOKEN = "bench-am-token-0123456789"
SIGNING_SECRET = "bench-signing-secret-0123456789"
CLICKS = 100
SPLIT_EVENTS = 5000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _serve(port: int, workdir: Path, slack_url: str) -> None:
    """Run the service as `serve` does, Slack being the FakeSlack at *slack_url*."""
    import uvicorn

    from slack_batcher.http import create_app
    from slack_batcher.http.server import build_service
    from slack_batcher.http.settings import load_settings
    from slack_batcher.routing.table import parse_routes

    settings = load_settings(
        None,
        store={"url": f"sqlite:///{workdir}/batches.db"},
        sender={
            "kind": "slack",
            "slack_bot_token": "xoxb-bench",
            "slack_api_url": slack_url + "api/",
        },
        server={"api_token": TOKEN},
        delivery={"pacing": False},
        sources={"alertmanager": {"token": AM_TOKEN}},
        slack={"signing_secret": SIGNING_SECRET, "response_url_prefixes": [slack_url]},
    )
    settings = settings.model_copy(
        update={"routes": parse_routes([{"source": "alertmanager", "channel": "#alerts"}])}
    )
    app = create_app(
        build_service(settings),
        settings=settings.server,
        manage_service=True,
        sources=settings.sources,
        routes=settings.routes,
        slack=settings.slack,
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _alerts(client: httpx.Client, *alerts: dict[str, object]) -> dict[str, object]:
    raw, headers = signed_request("alertmanager", alertmanager_notification(list(alerts)), AM_TOKEN)
    response = client.post("/v1/sources/alertmanager", content=raw, headers=headers)
    response.raise_for_status()
    answer: dict[str, object] = response.json()
    return answer


def _flush(client: httpx.Client) -> None:
    client.post("/v1/flush", headers={"Authorization": f"Bearer {TOKEN}"}).raise_for_status()


def _live() -> None:
    from slack_batcher.testing import FakeSlack

    auth = {"Authorization": f"Bearer {TOKEN}"}
    with (
        tempfile.TemporaryDirectory(prefix="bench-actions-") as tmp,
        FakeSlack(token="xoxb-bench", posts_per_second=None) as slack,
    ):
        port = _free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.bench_actions", "--serve", str(port), tmp,
             slack.url],
            cwd=Path(__file__).resolve().parent.parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            wait_until_listening(process, port, "actions")
            url = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=url, timeout=30) as client:
                _alerts(client, alert("HighErrorRate"), alert("DiskFull"))
                _flush(client)
                [post] = slack.wait_for_posts(1, channel="#alerts", timeout=30)
                latencies, statuses = [], []
                for _ in range(CLICKS):
                    started = time.perf_counter()
                    response = slack.click(
                        url + "/v1/slack/interactions", post, "sb:mute:60",
                        signing_secret=SIGNING_SECRET, user="U0ANA",
                    )  # fmt: skip
                    latencies.append(time.perf_counter() - started)
                    statuses.append(response.status_code)
                latencies.sort()
                ok = sum(200 <= s < 300 for s in statuses)
                p50 = statistics.median(latencies) * 1000
                p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
                print(
                    f"  signed click on Mute 1 h: {ok}/{CLICKS} answered 2xx   p50 {p50:6.1f} ms   "
                    f"p99 {p99:6.1f} ms   max {latencies[-1] * 1000:6.1f} ms   (Slack: < 3000)"
                )
                before = {(p.ts, len(p.history)) for p in slack.posts}
                count = len(slack.posts_in("#alerts"))
                again = [
                    alert("HighErrorRate", starts_at=f"2026-03-02T10:{m:02d}:00Z")
                    for m in range(20)
                ]
                muted = _alerts(client, *again, alert("Latency", service="web"))
                _flush(client)
                slack.wait_for_posts(count + 1, channel="#alerts", timeout=30)
                time.sleep(0.5)  # let any (wrong) edit of the muted digest arrive too
                changed = [p for p in slack.posts if (p.ts, len(p.history)) not in before]
                muted_changes = [
                    p for p in changed if "HighErrorRate" in p.text and p.ts != post.ts
                ]
                edits_of_muted = [p for p in changed if p.ts == post.ts and len(p.history) > 1]
                print(
                    f"  then 20 alerts of the muted group + 1 of another: {muted['muted']} muted; "
                    f"posts/replies of the muted group: {len(muted_changes)}, re-edits of its "
                    f"digest for them: {max(0, len(edits_of_muted) - 1)}; other group posted: "
                    f"{any('Latency' in p.text for p in changed)}"
                )
                metrics = client.get("/metrics").text
                name = "slack_batcher_muted_events_total"
                line = next((m for m in metrics.splitlines() if m.startswith(name)), "(none)")
                mutes = client.get("/v1/mutes", headers=auth).json()["mutes"]
                kept = sum(m["muted_events"] for m in mutes)
                print(f"  /metrics: {line}   /v1/mutes: {len(mutes)} mutes, {kept} events kept")
                forged = slack.click(
                    url + "/v1/slack/interactions", post, "sb:mute:60", signing_secret="forged"
                ).status_code
                stale = slack.click(
                    url + "/v1/slack/interactions", post, "sb:mute:60",
                    signing_secret=SIGNING_SECRET, timestamp=int(time.time()) - 360,
                ).status_code  # fmt: skip
                print(f"  forged signature → HTTP {forged}   6-minute-old signature → HTTP {stale}")
        finally:
            process.kill()
            process.wait(timeout=60)


def _split_cost() -> None:
    from datetime import timedelta

    from slack_batcher import BatchableMessage, ContentType, SQLiteStore
    from slack_batcher.http.mutes import MuteGate
    from slack_batcher.http.server import build_service
    from slack_batcher.http.settings import SenderSettings, ServiceSettings
    from slack_batcher.model.mute import Mute

    with tempfile.TemporaryDirectory(prefix="bench-mutes-") as tmp:
        store = SQLiteStore(Path(tmp) / "s.db")
        sender = SenderSettings(kind="jsonl", jsonl_path=Path(tmp) / "p.jsonl")
        settings = ServiceSettings(sender=sender)
        service = build_service(settings, store=store)
        gate = MuteGate(service)
        now = service.clock.now()
        events = [
            (
                BatchableMessage(
                    id=f"a{n}",
                    content_type=ContentType.ALERT,
                    data={"alertname": f"Alert{n % 50}", "service": "api"},
                ),
                "#alerts",
                "routes[0]",
            )
            for n in range(SPLIT_EVENTS)
        ]
        figures = []
        for label, mutes in (
            ("no mute", []),
            ("20 mutes, none matching", [f"alert:other{i}" for i in range(20)]),
            ("20 mutes, every event matching (kept in SQLite)", [
                *(f"alert:other{i}" for i in range(19)), "digest:alert:*"
            ]),
        ):  # fmt: skip
            for mute in gate.mutes.listed():
                gate.mutes.remove(mute.id)
            for i, scope in enumerate(mutes):
                gate.mutes.add(Mute(f"m{i}", scope, "bench", now, now + timedelta(hours=1)))
            started = time.perf_counter()
            for event in events:
                _, muted = gate.split([event])
                gate.keep(muted)
            figures.append((label, (time.perf_counter() - started) / SPLIT_EVENTS * 1e6))
        store.close()
    print(f"  mute check on ingest, per event ({SPLIT_EVENTS} events, one per request):")
    for label, micros in figures:
        print(f"    {label:<50} {micros:8.1f} µs")


def main() -> None:
    """Print the live figures, then the in-process cost of the mute check."""
    print(f"cores: {os.cpu_count()}, load {os.getloadavg()[0]:.2f}", flush=True)
    _live()
    _split_cost()


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--serve":
        _serve(int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4])
    else:
        main()
