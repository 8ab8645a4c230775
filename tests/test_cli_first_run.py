"""A first run as a new user types it: ``config init``, then no ``--config`` anywhere.

Real processes in a fresh directory: the CLI finds ./slack-batcher.toml (and
``$SLACK_BATCHER_CONFIG``), the client commands talk to the port it names, ``send`` leaves
the channel to the routes, and the words come out right ("1 pending batch, 1 message").
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from slack_batcher.cli.commands import main
from slack_batcher.sources.samples import github_event
from tests.serve_process import clean_env, wait_ready
from tests.test_http_harness import free_socket


def cli(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slack_batcher.cli", *args],
        capture_output=True,
        text=True,
        env={**clean_env(), **env},
        cwd=cwd,
        timeout=60,
    )


@pytest.mark.timeout(300)  # real processes, slower on a loaded machine
def test_a_first_run_needs_no_config_option(tmp_path: Path) -> None:
    assert cli(tmp_path, "config", "init").returncode == 0
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    config = tmp_path / "slack-batcher.toml"
    text = config.read_text().replace("port = 8787", f"port = {port}")
    config.write_text(text)

    checked = cli(tmp_path, "config", "check")
    assert checked.returncode == 0, checked.stderr
    assert "slack-batcher.toml: OK" in checked.stdout
    shown = cli(tmp_path, "config", "show")
    assert f"port = {port}" in shown.stdout

    payload = tmp_path / "pr.json"
    payload.write_text(json.dumps(github_event("pull_request", "opened", repo="acme/api")))
    routed = cli(tmp_path, "routes", "test", "--source", "github", "--event", "pull_request",
                 str(payload))  # fmt: skip
    assert routed.returncode == 0, routed.stderr
    assert "#dev-api" in routed.stdout  # the starter file's routes, found without --config
    no_event = cli(tmp_path, "routes", "test", "--source", "github", str(payload))
    assert no_event.returncode == 2
    assert "--event pull_request" in no_event.stderr

    serving = subprocess.Popen(
        [sys.executable, "-m", "slack_batcher.cli", "serve"],
        stderr=subprocess.DEVNULL,
        env=clean_env(),
        cwd=tmp_path,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}", serving, time.monotonic() + 30)
        for number in (1, 2):  # the leading edge posts the first; the second waits
            sent = cli(tmp_path, "send", "--id", f"first-{number}", "--title", "Add auth")
            assert sent.returncode == 0, sent.stderr
            assert f"first-{number}: accepted" in sent.stdout
        shown_batches = cli(tmp_path, "inspect")
        assert shown_batches.returncode == 0, shown_batches.stderr
        assert "1 pending batch, 1 message" in shown_batches.stdout
        as_json = json.loads(cli(tmp_path, "inspect", "--json").stdout)
        assert list(as_json["channels"]) == ["#notifications"]  # its catch-all route chose it
        stats = cli(tmp_path, "stats")
        assert stats.returncode == 0 and "messages_received" in stats.stdout
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        by_variable = cli(elsewhere, "stats", SLACK_BATCHER_CONFIG=str(config))
        assert by_variable.returncode == 0, by_variable.stderr
    finally:
        serving.send_signal(signal.SIGTERM)
        try:
            serving.wait(60)
        except subprocess.TimeoutExpired:
            serving.kill()
            serving.wait()


def test_config_check_refuses_a_redis_store_without_redis_py(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "redis.toml"
    config.write_text('[store]\nurl = "redis://:pw@127.0.0.1:6379/0"\n')
    monkeypatch.setitem(sys.modules, "redis", None)  # import redis → ImportError
    result = CliRunner().invoke(main, ["config", "check", str(config)])
    assert result.exit_code == 2
    assert "redis-py" in result.output and "pip install" in result.output
    assert ":pw@" not in result.output
    assert len(result.output.strip().splitlines()) == 1
