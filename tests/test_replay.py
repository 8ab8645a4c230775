"""`slack-batcher replay`: recorded webhook deliveries through a config, figures per channel.

Each test writes a config and a deliveries file, runs the command in process (CliRunner)
and checks what a user reads: the figures, what reached Slack (a FakeSlack on 127.0.0.1,
or the JSONL dry run), that nothing is left pending, and that a real workspace is refused.
`serve --record` / `[server] record_path` is checked by recording through the real source
endpoints and replaying the file.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from slack_batcher import ManualClock
from slack_batcher.cli.commands import main
from slack_batcher.sources.samples import alert, alertmanager_notification, github_event
from slack_batcher.testing import FakeSlack
from tests.test_sources_http import AM_TOKEN, GH_SECRET, JIRA_SECRET, sources_app

SECRETS = f"""
[sources.github]
secret = "{GH_SECRET}"
[sources.jira]
secret = "{JIRA_SECRET}"
[sources.alertmanager]
token = "{AM_TOKEN}"
"""
ROUTES = """
[[routes]]
source = "github"
channel = "#dev"
[[routes]]
source = "alertmanager"
channel = "#alerts"
"""
START = "2026-03-02T09:00:00Z"


def pr(action: str, number: int = 42, **fields: Any) -> dict[str, Any]:
    return github_event("pull_request", action, number=number, title="Add auth", **fields)


def write_deliveries(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def lifecycle(tmp_path: Path) -> Path:
    """A PR's life in acme/api and, later, one alert firing then resolved."""
    firing = alertmanager_notification([alert("DiskFull", fingerprint="f1")])
    resolved = alertmanager_notification([alert("DiskFull", status="resolved", fingerprint="f1")])
    return write_deliveries(
        tmp_path / "deliveries.jsonl",
        [
            {"at": 0, "source": "github", "event": "pull_request", "body": pr("opened")},
            {"at": 30, "source": "github", "event": "pull_request", "delivery": "d-2",
             "body": pr("ready_for_review")},
            {"at": 90, "source": "github", "event": "pull_request_review", "delivery": "d-3",
             "body": github_event("pull_request_review", "submitted", reviewer="bob")},
            {"at": 2000, "source": "github", "event": "pull_request", "delivery": "d-4",
             "body": pr("closed", merged=True)},
            {"at": 3000, "source": "alertmanager", "body": firing},
            {"at": 3400, "source": "alertmanager", "body": resolved},
        ],
    )  # fmt: skip


def write_config(tmp_path: Path, sender: str, batching: str = "") -> Path:
    path = tmp_path / "cfg.toml"
    text = (
        f'[batching]\n{batching}\n[store]\nurl = "sqlite:///{tmp_path / "service.db"}"\n'
        f"[sender]\n{sender}\n{SECRETS}{ROUTES}"
    )
    path.write_text(text, encoding="utf-8")
    return path


def replay(*args: str | Path) -> Result:
    env = {"SLACK_BOT_TOKEN": None, "SLACK_WEBHOOK_URL": None}
    return CliRunner().invoke(main, ["replay", *map(str, args)], env=env)


def jsonl_sender(tmp_path: Path) -> str:
    return f'kind = "jsonl"\njsonl_path = "{tmp_path / "posts.jsonl"}"'


def test_replay_prints_each_channels_figures_and_leaves_nothing_pending(tmp_path: Path) -> None:
    config = write_config(tmp_path, jsonl_sender(tmp_path))
    result = replay(lifecycle(tmp_path), "--config", config, "--start", START, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)

    channels = {c["channel"]: c for c in report["channels"]}
    assert {name: c["events"] for name, c in channels.items()} == {"#dev": 4, "#alerts": 2}
    assert report["answers"] == {"accepted": 6}
    assert report["pending"] == 0 and report["total"]["not_shown"] == 0
    assert report["start"] == "2026-03-02T09:00:00+00:00"
    # What the dry run wrote is what the figures count, channel by channel.
    lines = [json.loads(x) for x in (tmp_path / "posts.jsonl").read_text().splitlines()]
    for name, figures in channels.items():
        mine = [line for line in lines if line["channel"] == name]
        edits = [line for line in mine if line.get("method") == "chat.update"]
        replies = [line for line in mine if "thread_ts" in line and line not in edits]
        assert figures["slack_calls"] == len(mine)
        assert figures["edits"] == len(edits) and figures["replies"] == len(replies)
        assert figures["top_level_posts"] == len(mine) - len(edits) - len(replies)
    # Seed window (5 minutes): the three early PR events wait for it, the merge alone too.
    dev = channels["#dev"]["first_visible_seconds"]
    assert dev["max"] == 300.0
    # The scratch store: the configured SQLite file is never touched.
    assert not (tmp_path / "service.db").exists()


def test_the_leading_edge_shows_a_lone_event_at_once(tmp_path: Path) -> None:
    config = write_config(tmp_path, jsonl_sender(tmp_path), "flush_leading = true")
    result = replay(lifecycle(tmp_path), "--config", config, "--start", START, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    dev = next(c for c in report["channels"] if c["channel"] == "#dev")
    alerts = next(c for c in report["channels"] if c["channel"] == "#alerts")
    assert alerts["first_visible_seconds"]["max"] == 0.0, "a lone alert, then its resolve"
    assert dev["first_visible_seconds"]["p50"] < 300
    assert dev["first_visible_seconds"]["max"] == 300.0, "the next one opens a batch: its window"
    assert dev["top_level_posts"] == 1, "the merge, quiet for a window, joins the PR's digest"


def test_replay_posts_to_a_fakeslack_given_as_the_slack_api_url(tmp_path: Path) -> None:
    with FakeSlack(token="xoxb-replay-test", posts_per_second=None) as slack:
        sender = (
            f'kind = "slack"\nslack_bot_token = "xoxb-replay-test"\n'
            f'slack_api_url = "{slack.base_url}"'
        )
        config = write_config(tmp_path, sender)
        result = replay(lifecycle(tmp_path), "--config", config, "--start", START, "--json")
        assert result.exit_code == 0, result.output
        report = json.loads(result.output)
        posts = slack.posts
    total = report["total"]
    assert len(posts) == total["top_level_posts"] + total["replies"] > 0
    assert sum(len(p.history) for p in posts) == total["edits"]
    assert {p.channel for p in posts} == {"#dev", "#alerts"}


def test_a_real_workspace_is_refused_unless_allowed(tmp_path: Path) -> None:
    deliveries = lifecycle(tmp_path)
    sender = 'kind = "slack"\nslack_bot_token = "xoxb-real-looking-token"'
    result = replay(deliveries, "--config", write_config(tmp_path, sender))
    assert result.exit_code == 2
    assert "https://slack.com/api/" in result.output and "--allow-real-slack" in result.output
    assert "xoxb-real-looking-token" not in result.output

    hook = "https://hooks.slack.com/services/T000/B000/secretpart"
    result = replay(deliveries, "--config", write_config(tmp_path, f'webhook_url = "{hook}"'))
    assert result.exit_code == 2 and "hooks.slack.com" in result.output
    assert "secretpart" not in result.output, "a webhook URL is a secret: its host only"


def test_bad_input_names_the_line_and_a_disabled_source_is_counted(tmp_path: Path) -> None:
    config = write_config(tmp_path, jsonl_sender(tmp_path))
    bad = write_deliveries(tmp_path / "bad.jsonl", [{"at": 0, "source": "github", "body": {}}])
    bad.write_text(bad.read_text() + '{"at": -5, "source": "jira", "body": {}}\n')
    result = replay(bad, "--config", config)
    assert result.exit_code == 2 and "bad.jsonl line 2: at:" in result.output

    no_secrets = tmp_path / "nosecrets.toml"
    no_secrets.write_text(f"[sender]\n{jsonl_sender(tmp_path)}\n{ROUTES}")
    result = replay(lifecycle(tmp_path), "--config", no_secrets, "--json")
    assert result.exit_code == 0, result.output
    assert "SLACK_BATCHER_SOURCES__GITHUB__SECRET" in result.output
    report = json.loads(result.output[result.output.index("\n{") :])  # after the warning
    assert report["answers"] == {"refused (HTTP 404)": 6}
    assert "the github source is disabled" in report["refused"][0]


async def record_some(record: Path) -> None:
    """Deliver through the real source endpoints with ``record_path`` set."""
    clock = ManualClock()
    async with sources_app(clock, record_path=record) as app:
        assert (await app.github("pull_request", pr("opened"), delivery="g-1")).status_code == 202
        clock.advance(40)
        wrong = await app.github("pull_request", pr("edited"), delivery="g-2", secret="nope")
        assert wrong.status_code == 401, "refused: never recorded"
        ping = await app.github("ping", {"zen": "Keep it logically awesome."}, delivery="g-3")
        assert ping.status_code == 200, "a ping says nothing: not recorded"
        clock.advance(20)
        notification = alertmanager_notification([alert("DiskFull", fingerprint="f1")])
        assert (await app.alertmanager(notification)).status_code == 202


def test_recorded_deliveries_carry_no_secret_and_replay_the_same(tmp_path: Path) -> None:
    record = tmp_path / "recorded.jsonl"
    asyncio.run(record_some(record))
    text = record.read_text()
    rows = [json.loads(line) for line in text.splitlines()]
    assert [(r["source"], r.get("event"), r.get("delivery"), r["at"]) for r in rows] == [
        ("github", "pull_request", "g-1", 0.0),
        ("alertmanager", None, None, 60.0),
    ]
    assert rows[0]["body"] == pr("opened")
    for secret in (GH_SECRET, AM_TOKEN, "sha256=", "Bearer", "X-Hub-Signature"):
        assert secret.lower() not in text.lower()

    config = write_config(tmp_path, jsonl_sender(tmp_path))
    result = replay(record, "--config", config, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["answers"] == {"accepted": 2}
    assert report["total"]["events"] == 2 and report["pending"] == 0
    assert report["start"] == rows[0]["time"], "a recording replays from when it began"


def test_a_redis_store_replays_under_a_private_prefix_removed_afterwards(tmp_path: Path) -> None:
    import redis

    from tests.redis_server import shared_server

    server = shared_server()
    sqlite = write_config(tmp_path, jsonl_sender(tmp_path))
    on_sqlite = json.loads(replay(lifecycle(tmp_path), "--config", sqlite, "--json").output)
    config = tmp_path / "redis.toml"
    prefix = f"replaytest{tmp_path.name[-6:]}"
    config.write_text(
        sqlite.read_text().replace(
            f'url = "sqlite:///{tmp_path / "service.db"}"',
            f'url = "{server.url}"\nprefix = "{prefix}"',
        )
    )
    client = redis.Redis.from_url(server.url)
    client.set(f"{prefix}:a-key-of-the-live-service", "kept")
    result = replay(lifecycle(tmp_path), "--config", config, "--json")
    assert result.exit_code == 0, result.output
    on_redis = json.loads(result.output)
    assert on_redis["channels"] == on_sqlite["channels"], "the same pipeline, the same figures"
    assert [k.decode() for k in client.scan_iter(match=f"{prefix}*")] == [
        f"{prefix}:a-key-of-the-live-service"
    ], "the replay's keys are gone; the service's are untouched"


def test_a_console_dry_run_keeps_the_json_on_stdout(tmp_path: Path) -> None:
    config = write_config(tmp_path, 'kind = "console"')
    result = CliRunner().invoke(
        main, ["replay", str(lifecycle(tmp_path)), "--config", str(config), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total"]["events"] == 6
    assert "Add auth" in result.stderr, "the posts, printed beside the figures"
