"""`config init`, `config show` and `routes test`: a new user's first commands."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from click.testing import CliRunner, Result

from slack_batcher.cli.commands import main
from slack_batcher.demo.run import starter_config
from slack_batcher.http.settings import check_settings, load_settings
from slack_batcher.sources.samples import alert, alertmanager_notification, github_event

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "slack-batcher.toml"


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_config_init_writes_the_commented_starter_that_config_check_accepts(tmp_path: Path) -> None:
    target = tmp_path / "slack-batcher.toml"
    done = run("config", "init", str(target))
    assert done.exit_code == 0, done.output
    text = target.read_text()
    assert text == EXAMPLE.read_text() == starter_config()
    assert text.count("\n#") > 20, "commented"
    assert check_settings(target) == []
    assert run("config", "check", str(target)).exit_code == 0


def test_config_init_never_overwrites_without_force(tmp_path: Path) -> None:
    target = tmp_path / "mine.toml"
    target.write_text("# my settings\n")
    refused = run("config", "init", str(target))
    assert refused.exit_code == 2 and "exists" in refused.output
    assert target.read_text() == "# my settings\n"
    assert run("config", "init", str(target), "--force").exit_code == 0
    assert target.read_text() == starter_config()


def test_config_show_prints_effective_settings_as_toml_with_secrets_masked(tmp_path: Path) -> None:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-very-secret-token",
        "SLACK_BATCHER_SOURCES__GITHUB__SECRET": "gh-very-secret",
        "SLACK_BATCHER_SERVER__PORT": "9001",
    }
    done = run("config", "show", "--config", str(EXAMPLE), env=env)
    assert done.exit_code == 0, done.output
    assert "very-secret" not in done.output
    shown = tomllib.loads(done.output)
    assert shown["server"]["port"] == 9001
    assert shown["sender"]["slack_bot_token"] == "**********"
    assert shown["sources"]["github"]["secret"] == "**********"
    assert "secret" not in shown["sources"]["jira"]  # not set: shown as a comment
    assert shown["routes"] == load_settings(EXAMPLE).routes.to_list()
    assert shown["batching"]["max_batch_size"] == 5


def test_config_show_json_and_a_bad_file_names_the_key(tmp_path: Path) -> None:
    as_json = run("config", "show", "--json", env={"SLACK_BATCHER_API_TOKEN": "t" * 20})
    assert json.loads(as_json.output)["server"]["api_token"] == "**********"
    bad = tmp_path / "bad.toml"
    bad.write_text('[[routes]]\nchannel = "#a"\nseverity = 3\n')
    done = run("config", "show", "--config", str(bad))
    assert done.exit_code == 2
    assert "routes[0].severity" in done.output


def test_config_check_warns_about_conflicting_overrides_and_no_catch_all(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[sources.github]\nsecret = "s"\n'
        '[[routes]]\nsource = "github"\nchannel = "#a"\nmax_batch_size = 10\n'
        '[[routes]]\nsource = "jira"\nchannel = "#a"\nmax_batch_size = 3\n'
    )
    done = run("config", "check", str(path))
    assert done.exit_code == 0, done.output
    assert "warning" in done.output
    assert "no catch-all" in done.output
    assert "routes[1]" in done.output and "'#a'" in done.output


def test_routes_test_shows_the_channel_and_the_message(tmp_path: Path) -> None:
    payload = tmp_path / "pr.json"
    payload.write_text(json.dumps(github_event("pull_request", "opened", title="Add auth")))
    done = run("routes", "test", "--config", str(EXAMPLE), "--source", "github",
               "--event", "pull_request", str(payload))  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "github pull_request.opened → #dev-api" in done.output
    assert "routes[3] (api)" in done.output
    assert "Add auth" in done.output


def test_routes_test_reports_drops_ignores_and_unrouted_events(tmp_path: Path) -> None:
    bot = tmp_path / "bot.json"
    bot.write_text(json.dumps(github_event("pull_request", "opened", sender="dependabot[bot]")))
    dropped = run("routes", "test", "--config", str(EXAMPLE), "--source", "github",
                  "--event", "pull_request", str(bot))  # fmt: skip
    assert "dropped by routes[0] (no bots)" in dropped.output
    ignored = run("routes", "test", "--source", "github", "--event", "star", str(bot))
    assert ignored.exit_code == 0 and "ignored" in ignored.output
    alerts = tmp_path / "am.json"
    alerts.write_text(json.dumps(alertmanager_notification([alert("A"), alert("B")])))
    unrouted = run("routes", "test", "--source", "alertmanager", str(alerts), "--json")
    report = json.loads(unrouted.output)
    assert len(report) == 2 and all(r["channels"] == [] for r in report)


def test_routes_test_names_the_field_of_a_bad_payload(tmp_path: Path) -> None:
    payload = tmp_path / "bad.json"
    payload.write_text('{"action": "opened", "pull_request": {"title": "x"}}')
    done = run("routes", "test", "--source", "github", "--event", "pull_request", str(payload))
    assert done.exit_code == 2 and "pull_request.number" in done.output


def test_the_new_commands_have_help() -> None:
    for command in (["config", "init"], ["config", "show"], ["routes"], ["routes", "test"]):
        result = CliRunner().invoke(main, [*command, "--help"])
        assert result.exit_code == 0, command
        assert "Usage:" in result.output


def test_routes_test_routes_a_v1_messages_event_as_source_api(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        '[[routes]]\nsource = "api"\nevent = "ci_build"\nrepository = "acme/*"\n'
        'channel = "#ci"\n[[routes]]\nchannel = "#misc"\n'
    )
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps({"content_type": "ci_build", "data": {"repository": "acme/api", "title": "x"}})
    )
    done = run("routes", "test", "--config", str(config), "--source", "api", str(event))
    assert done.exit_code == 0, done.output
    assert "api ci_build → #ci" in done.output
    bad = tmp_path / "bad.json"
    bad.write_text('{"content_type": "nope"}')
    refused = run("routes", "test", "--source", "api", str(bad))
    assert refused.exit_code == 2 and "content_type" in refused.output


def test_a_setup_error_stays_on_one_line_at_80_columns(tmp_path: Path) -> None:
    target = tmp_path / ("a-long-directory-name-" * 3) / "slack-batcher.toml"
    target.parent.mkdir()
    target.write_text("# mine\n")
    refused = run("config", "init", str(target), env={"COLUMNS": "80"})
    assert refused.exit_code == 2
    line = f"error: {target} exists; use --force to overwrite it"
    assert len(line) > 80 and line in refused.output.splitlines(), refused.output
