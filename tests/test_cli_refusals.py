"""Every startup and configuration refusal of ``slack-batcher``: exit 2, one line on stderr.

Real processes (``python -m slack_batcher.cli``), so what a user sees is what is tested:
no traceback, no second "invalid configuration" line, exit code 2.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.redis_server import free_port, shared_server
from tests.serve_process import clean_env


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slack_batcher.cli", *args],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=tmp_path,
        timeout=60,
    )


def assert_one_line_refusal(result: subprocess.CompletedProcess[str], *words: str) -> str:
    lines = result.stderr.splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for word in words:
        assert word in lines[0]
    return lines[0]


def store_config(tmp_path: Path, url: str) -> Path:
    config = tmp_path / "serve.toml"
    config.write_text(f"[store]\nurl = {json.dumps(url)}\n[server]\nport = {free_port()}\n")
    return config


@pytest.mark.timeout(120)  # real processes, slower on a loaded machine
@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("redis://127.0.0.1:{closed}/0", ["Connection refused"]),
        ("redis://127.0.0.1:abc/0", ["store.url", "abc"]),
        ("unix:///missing/redis.sock", ["/missing/redis.sock", "No such file"]),
        ("redis+sentinel://127.0.0.1:{closed}/mymaster", ["mymaster"]),
        ("redis+sentinel://127.0.0.1:ab/mymaster", ["store.url", "ab"]),
        ("redis://{shared}/99", ["DB index is out of range"]),
    ],
)
def test_a_redis_store_that_cannot_be_used_is_one_line_and_exit_2(
    tmp_path: Path, url: str, words: list[str]
) -> None:
    shared = shared_server()
    url = url.format(closed=free_port(), shared=f"127.0.0.1:{shared.port}")
    result = run_cli(tmp_path, "serve", "--config", str(store_config(tmp_path, url)))
    assert_one_line_refusal(result, *words)


@pytest.mark.timeout(120)  # real processes, slower on a loaded machine
def test_a_configuration_error_is_one_line_naming_the_file_and_the_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[batching]\nmax_batch_size = -3\n")
    for command in (["serve", "--config", str(config)], ["config", "show", "--config",
                    str(config)], ["config", "check", str(config)]):  # fmt: skip
        result = run_cli(tmp_path, *command)
        assert_one_line_refusal(result, "bad.toml", "batching.max_batch_size")
    missing = run_cli(tmp_path, "serve", "--config", "nope.toml")
    assert_one_line_refusal(missing, "nope.toml: no such file")
    (tmp_path / "broken.toml").write_text("x = [\n")
    assert_one_line_refusal(run_cli(tmp_path, "config", "check", "broken.toml"), "not valid TOML")
