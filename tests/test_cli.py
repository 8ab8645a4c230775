"""The `slack-batcher` command against a server the test starts on a free port."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from slack_batcher.cli.commands import main
from tests.serve_process import clean_env, serve_command, wait_ready
from tests.test_http_harness import TOKEN, LiveServer, free_socket


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with LiveServer(channels=["#dev-api", "#ci", "#jira"]) as live:
        yield live


def run(*args: str, token: str | None = TOKEN, url: str | None = None) -> Result:
    env = {"SLACK_BATCHER_API_TOKEN": token, "SLACK_BATCHER_URL": url}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_every_command_has_help() -> None:
    for command in (
        [],
        ["serve"],
        ["demo"],
        ["send"],
        ["flush"],
        ["inspect"],
        ["stats"],
        ["dead-letters"],
        ["dead-letters", "list"],
        ["dead-letters", "replay"],
        ["preview"],
        ["config", "check"],
    ):
        result = CliRunner().invoke(main, [*command, "--help"])
        assert result.exit_code == 0, command
        assert "Usage:" in result.output


def test_send_then_inspect_shows_the_pending_batch(server: LiveServer) -> None:
    sent = run(
        "send", "--url", server.url, "--channel", "#dev-api", "--type", "pr_update",
        "--id", "cli-1", "--author", "alice", "--title", "Add auth",
        "--data", '{"repository": "acme/api"}',
    )  # fmt: skip
    assert sent.exit_code == 0, sent.output
    assert "cli-1: accepted into b_" in sent.output
    shown = run("inspect", "--url", server.url, "--channel", "#dev-api", "--json")
    assert shown.exit_code == 0
    pending = json.loads(shown.output)
    items = pending["channels"]["#dev-api"]["batches"][0]["items"]
    assert [i["id"] for i in items] == ["cli-1"]
    table = run("inspect", "--url", server.url)
    assert "#dev-api" in table.output and "Add auth" in table.output


def test_inspect_shows_titles_with_rich_markup_as_typed(server: LiveServer) -> None:
    title = "fix [/] parser [link=https://evil]x[/link]"
    sent = run(
        "send", "--url", server.url, "--channel", "#markup", "--type", "pr_update",
        "--id", "cli-markup", "--title", title,
    )  # fmt: skip
    assert sent.exit_code == 0, sent.output
    table = run("inspect", "--url", server.url, "--channel", "#markup")
    assert table.exit_code == 0, table.output
    assert "1 pending batch, 1 message" in table.output
    assert "fix [/]" in table.output and "[link=https:/" in table.output  # not parsed as markup


def test_flush_delivers_pending_batches_to_slack(server: LiveServer) -> None:
    before = len(server.slack.posts_in("#ci"))
    run("send", "--url", server.url, "--channel", "#ci", "--type", "ci_build", "--id", "ci-9")
    flushed = run("flush", "--url", server.url, "--channel", "#ci")
    assert flushed.exit_code == 0
    assert "flushed 1 batch (1 message)" in flushed.output
    server.slack.wait_for_posts(before + 1, channel="#ci")


def test_a_file_of_events_is_sent_in_one_go(server: LiveServer, tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": f"f-{i}", "content_type": "jira_update", "data": {"key": f"A-{i}"}})
        for i in range(3)
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines))
    sent = run("send", "--url", server.url, "--channel", "#jira", "--file", str(path))
    assert sent.exit_code == 0, sent.output
    assert sent.output.count("accepted") == 3


def test_stats_and_health(server: LiveServer) -> None:
    result = run("stats", "--url", server.url, "--health", "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["health"]["status"] == "healthy"
    assert shown["stats"]["messages_received"] >= 0
    table = run("stats", "--url", server.url)
    assert "messages_received" in table.output


def test_dead_letters_are_listed_and_replayed(server: LiveServer) -> None:
    run("send", "--url", server.url, "--channel", "#nowhere", "--id", "lost-1")
    run("flush", "--url", server.url, "--channel", "#nowhere")
    server.wait_for(lambda: server.batcher.dead_letters("#nowhere"))
    listed = run("dead-letters", "list", "--url", server.url, "--json", "--channel", "#nowhere")
    [letter] = json.loads(listed.output)
    assert letter["error_code"] == "channel_not_found"
    replayed = run("dead-letters", "replay", "--url", server.url, letter["id"])
    assert replayed.exit_code == 0
    assert "re-queued 1 messages" in replayed.output
    assert server.batcher.inspect_pending_batches("#nowhere")["total_messages"] == 1


def test_exit_codes_say_what_went_wrong(server: LiveServer) -> None:
    wrong_token = run("stats", "--url", server.url, token="nope")
    assert wrong_token.exit_code == 4
    assert "refused the API token" in wrong_token.output
    unknown = run("flush", "--url", server.url, "--batch", "b_missing")
    assert unknown.exit_code == 1
    bad = run("send", "--url", server.url, "--channel", "#x", "--type", "tweet")
    assert bad.exit_code == 2
    assert "content_type" in bad.output
    with free_socket() as sock:  # bound, never listening: connection refused
        host, port = sock.getsockname()
        unreachable = run("stats", "--url", f"http://{host}:{port}")
    assert unreachable.exit_code == 3


def test_preview_renders_a_payload_to_html(tmp_path: Path) -> None:
    payload = tmp_path / "post.json"
    payload.write_text(
        json.dumps(
            {
                "channel": "#dev-api",
                "text": "2 updates",
                "blocks": [
                    {"type": "header", "text": {"type": "plain_text", "text": "2 updates"}},
                    {"type": "section", "text": {"type": "mrkdwn", "text": "*<https://x.dev|PR>*"}},
                ],
            }
        )
    )
    result = CliRunner().invoke(main, ["preview", str(payload)])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "post.html").read_text()
    assert "2 updates" in page and '<b><a href="https://x.dev"' in page
    not_slack = tmp_path / "x.json"
    not_slack.write_text('{"hello": 1}')
    assert CliRunner().invoke(main, ["preview", str(not_slack)]).exit_code == 2


def test_config_check_explains_every_problem(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text("[batching]\nmax_batch_size = 8\n[server]\nport = 9000\n")
    assert run("config", "check", str(good)).exit_code == 0
    bad = tmp_path / "bad.toml"
    bad.write_text('[batching]\nmax_batch_size = -1\n[server]\nport = "eighty"\n')
    result = run("config", "check", str(bad))
    assert result.exit_code == 2
    assert "batching.max_batch_size" in result.output and "server.port" in result.output


def test_serve_refuses_a_public_address_without_a_token() -> None:
    result = run("serve", "--host", "0.0.0.0", token=None)
    assert result.exit_code == 2
    assert "server.host" in result.output


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_serve_runs_the_service_and_stops_cleanly(tmp_path: Path, stop: int) -> None:
    with free_socket() as sock:
        port = sock.getsockname()[1]
    config = tmp_path / "service.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path}/batches.db"\n'
        f'[sender]\nkind = "jsonl"\njsonl_path = "{tmp_path}/posts.jsonl"\n'
        f"[server]\nport = {port}\n"
    )
    process = subprocess.Popen(
        serve_command(config),
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, process, time.monotonic() + 20)
        sent = run("send", "--url", url, "--channel", "#ops", "--id", "s-1", token=None)
        assert sent.exit_code == 0, sent.output
    finally:
        process.send_signal(stop)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "loopback" in stderr
    dry_run = (tmp_path / "posts.jsonl").resolve()
    assert f"sender: jsonl (dry run: posts are appended to {dry_run})" in stderr
    posted = [json.loads(line) for line in (tmp_path / "posts.jsonl").read_text().splitlines()]
    assert [p["channel"] for p in posted] == ["#ops"], "shutdown flushed and delivered it"


SERVER_EXTRA_BLOCKER = """
import sys

BLOCKED = {"click", "rich", "fastapi", "starlette", "uvicorn", "prometheus_client",
           "pydantic_settings", "httpx"}


class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, NotInstalled())
"""


def test_without_the_server_extra_the_command_says_what_to_install(tmp_path: Path) -> None:
    import tomllib

    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    scripts = tomllib.loads(pyproject.read_text())["project"]["scripts"]
    assert scripts["slack-batcher"] == "slack_batcher._launcher:main"
    # A library-only install: the server extra's modules cannot be imported.
    (tmp_path / "sitecustomize.py").write_text(SERVER_EXTRA_BLOCKER)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "slack_batcher._launcher", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "pip install 'slack-batcher[server]'" in result.stderr
    assert "module 'click' is not installed" in result.stderr
    assert "Traceback" not in result.stderr
    library = subprocess.run(
        [sys.executable, "-c", "import slack_batcher; print(slack_batcher.MessageBatcher)"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert library.returncode == 0 and "MessageBatcher" in library.stdout, library.stderr


LONG_CHANNEL = "#release-engineering-notifications-eu"


def test_tables_never_cut_the_ids_users_paste_back(server: LiveServer) -> None:
    for i in range(2):
        title = f"Refactor the ingest path so that batches survive restarts, part {i}"
        sent = run(
            "send", "--url", server.url, "--channel", LONG_CHANNEL, "--id", f"long-{i}",
            "--title", title,
        )  # fmt: skip
        assert sent.exit_code == 0, sent.output
    pending = json.loads(run("inspect", "--url", server.url, "--json").output)
    [batch] = pending["channels"][LONG_CHANNEL]["batches"]
    table = run("inspect", "--url", server.url).output
    assert max(len(line) for line in table.splitlines()) <= 80, "it still fits 80 columns"
    assert batch["id"] in table and LONG_CHANNEL in table
    assert "…" not in table.replace("…and", "")

    run("flush", "--url", server.url, "--channel", LONG_CHANNEL)
    server.wait_for(lambda: server.batcher.dead_letters(LONG_CHANNEL))
    [letter] = server.batcher.dead_letters(LONG_CHANNEL)
    listed = run("dead-letters", "list", "--url", server.url, "--channel", LONG_CHANNEL)
    assert letter.id in listed.output and LONG_CHANNEL in listed.output
    replayed = run("dead-letters", "replay", "--url", server.url, letter.id)
    assert f"{letter.id}: re-queued 2 messages" in replayed.output


def test_a_file_of_events_that_name_their_channels_needs_no_channel_option(
    server: LiveServer, tmp_path: Path
) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(
        "\n".join(
            json.dumps({"id": f"own-{i}", "channel": channel, "content_type": "generic"})
            for i, channel in enumerate(["#dev-api", "#ci"])
        )
    )
    sent = run("send", "--url", server.url, "--file", str(path))
    assert sent.exit_code == 0, sent.output
    assert sent.output.count("accepted") == 2
    assert server.batcher.inspect_pending_batches("#ci")["total_messages"] >= 1
    path.write_text(
        json.dumps(
            [
                {"id": "a", "channel": "#ci", "content_type": "generic"},
                {"id": "b", "content_type": "generic"},
            ]
        )
    )
    # Without a channel the server's routes pick one; this server has none: 400 naming it.
    missing = run("send", "--url", server.url, "--file", str(path))
    assert missing.exit_code == 2
    assert "channel" in missing.output and "routes" in missing.output
    bare = run("send", "--url", server.url, "--id", "no-channel")
    assert bare.exit_code == 2 and "channel" in bare.output and "routes" in bare.output
