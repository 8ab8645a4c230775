"""Service configuration: TOML file + environment, every problem named by its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from slack_batcher import ConfigError
from slack_batcher.http.settings import check_settings, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "slack-batcher.toml"
    path.write_text(text)
    return path


def test_defaults_need_no_file_and_keep_batching_defaults() -> None:
    settings = load_settings()
    assert settings.batch_config.max_batch_size == 5
    assert settings.store.url.startswith("sqlite:///")
    assert settings.server.host == "127.0.0.1"
    assert settings.server.api_token is None
    assert settings.sender.resolved_kind() == "jsonl"


def test_file_tables_set_batching_store_sender_pacing_server_and_logging(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[batching]
max_batch_size = 10
strategies = ["author_based"]
[store]
url = "sqlite:///var/batches.db"
[sender]
webhook_url = "https://hooks.slack.com/services/T/B/x"
[delivery]
channel_posts_per_second = 0.5
[server]
host = "0.0.0.0"
port = 9000
api_token = "s3cret-token-of-24-chars"
[logging]
level = "DEBUG"
""",
    )
    settings = load_settings(path)
    assert settings.batch_config.max_batch_size == 10
    assert [s.value for s in settings.batch_config.strategies] == ["author_based"]
    assert settings.store.sqlite_path == Path("var/batches.db")
    assert settings.sender.resolved_kind() == "webhook"
    assert settings.delivery.channel_posts_per_second == 0.5
    assert settings.server.port == 9000
    assert settings.logging.level == "DEBUG"


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "[server]\nport = 9000\n[batching]\nmax_batch_size = 10\n")
    monkeypatch.setenv("SLACK_BATCHER_SERVER__PORT", "9100")
    monkeypatch.setenv("SLACK_BATCHER_BATCHING__MAX_BATCH_SIZE", "7")
    monkeypatch.setenv("SLACK_BATCHER_BATCHING__STRATEGIES", '["time_based"]')
    settings = load_settings(path)
    assert settings.server.port == 9100
    assert settings.batch_config.max_batch_size == 7
    assert [s.value for s in settings.batch_config.strategies] == ["time_based"]


def test_secrets_come_from_their_customary_variables_and_never_show(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_BATCHER_API_TOKEN", "api-token-value-0123456789")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-bot-token-value")
    settings = load_settings()
    assert settings.server.api_token is not None
    assert settings.server.api_token.get_secret_value() == "api-token-value-0123456789"
    assert settings.sender.resolved_kind() == "slack"
    shown = repr(settings) + str(settings.model_dump())
    assert "api-token-value-0123456789" not in shown
    assert "xoxb-bot-token-value" not in shown


def test_check_names_every_problem_by_its_dotted_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[batching]
max_batch_size = 0
strategies = ["time_based", "by_mood"]
typo = 1
[server]
port = 99999
hots = "0.0.0.0"
[store]
url = "postgres://x"
[sender]
kind = "pigeon"
[delivery]
channel_burst = 0
""",
    )
    problems = check_settings(path)
    keys = {problem.split(":")[0] for problem in problems}
    assert keys == {
        "batching.max_batch_size",
        "batching.strategies",
        "batching.typo",
        "server.port",
        "server.hots",
        "store.url",
        "sender.kind",
        "delivery.channel_burst",
    }
    assert any("by_mood" in p for p in problems)
    assert any("unknown setting" in p for p in problems if p.startswith("server.hots"))


def test_a_bad_secret_is_reported_without_echoing_it(tmp_path: Path) -> None:
    path = write(tmp_path, '[server]\napi_token = ["xoxb-do-not-print"]\n')
    problems = check_settings(path)
    assert problems and problems[0].startswith("server.api_token:")
    assert "xoxb-do-not-print" not in " ".join(problems)


def test_unreadable_toml_is_reported_with_its_position(tmp_path: Path) -> None:
    path = write(tmp_path, "[server\nport = 1\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert "not valid TOML" in str(caught.value)
    assert "line 1" in str(caught.value)


def test_a_missing_file_is_one_clear_problem(tmp_path: Path) -> None:
    assert check_settings(tmp_path / "nope.toml") == [f"{tmp_path / 'nope.toml'}: no such file"]


def test_a_redis_store_url_is_accepted_and_shown_without_its_password() -> None:
    settings = load_settings(store={"url": "redis://:s3cret@redis.internal:6380/2", "prefix": "sb"})

    assert settings.store.is_redis
    assert settings.store.prefix == "sb"
    assert settings.store.display_url == "redis://:***@redis.internal:6380/2"
    assert "s3cret" not in settings.store.display_url


def test_a_redis_prefix_with_braces_is_refused_naming_the_key() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(store={"url": "redis://localhost:6379/0", "prefix": "a{b}"})

    assert any(p.startswith("store.prefix:") for p in caught.value.problems)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://user:pw@h:6379/0", "redis://user:***@h:6379/0"),
        (
            "redis+sentinel://:pw@s1:26379,s2:26379/mymaster/0",
            "redis+sentinel://:***@s1:26379,s2:26379/mymaster/0",
        ),
        ("rediss://h:6380/1", "rediss://h:6380/1"),
    ],
)
def test_every_redis_url_form_is_accepted_and_shown_without_its_password(
    url: str, shown: str
) -> None:
    settings = load_settings(store={"url": url})

    assert settings.store.is_redis
    assert settings.store.display_url == shown
