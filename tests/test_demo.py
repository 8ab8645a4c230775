"""`make demo`: the bundled day of webhooks through the source endpoints, output checked."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from slack_batcher.demo.run import DAY_START, load_deliveries, starter_config

REPO = Path(__file__).resolve().parent.parent


def test_the_bundled_day_is_provider_shaped_webhooks_from_three_sources() -> None:
    deliveries = load_deliveries()
    assert 300 <= len(deliveries) <= 1500
    sources = Counter(d.source for d in deliveries)
    assert set(sources) == {"github", "jira", "alertmanager"}
    github = Counter(d.event for d in deliveries if d.source == "github")
    assert {"pull_request", "pull_request_review", "issue_comment", "push", "workflow_run",
            "deployment_status"} <= set(github)  # fmt: skip
    assert all(d.body["repository"]["full_name"] for d in deliveries if d.source == "github")
    jira = Counter(d.body["webhookEvent"] for d in deliveries if d.source == "jira")
    assert set(jira) == {"jira:issue_created", "jira:issue_updated", "comment_created"}
    assert all(d.body["version"] == "4" for d in deliveries if d.source == "alertmanager")
    assert len({d.delivery for d in deliveries if d.source != "alertmanager"}) == (
        sources["github"] + sources["jira"]
    )
    storm = [d for d in deliveries if d.source == "alertmanager" and 20_000 <= d.at <= 21_600]
    assert len(storm) >= 100, "an alert storm in the afternoon"
    severities = {a["labels"]["severity"] for d in storm for a in d.body["alerts"]}
    assert "critical" in severities


@pytest.fixture(scope="module")
def make_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Run `make demo`'s script once for this module: (its output directory, its stdout)."""
    where = tmp_path_factory.mktemp("demo")
    done = subprocess.run(
        [sys.executable, str(REPO / "examples" / "demo.py")],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return where / "demo-output", done.stdout


def test_make_demo_routes_every_webhook_and_batches_each_message_into_one_post(
    make_demo: tuple[Path, str],
) -> None:
    output, stdout = make_demo
    summary = json.loads((output / "summary.json").read_text())
    deliveries = load_deliveries()
    assert sum(summary["deliveries"].values()) == len(deliveries)
    assert summary["answers"] == {"accepted": len(deliveries)}
    assert summary["posts"] < summary["events"]

    channels = {c["channel"]: c["events"] for c in summary["channels"]}
    assert set(channels) == {
        "#alerts", "#ci-builds", "#deploys", "#dev-api", "#dev-web", "#jira-acme"
    }  # fmt: skip
    ci_runs = sum(1 for d in deliveries if d.event == "workflow_run")
    assert channels["#ci-builds"] == ci_runs
    assert channels["#jira-acme"] == sum(1 for d in deliveries if d.source == "jira")

    carried = Counter(i for post in summary["post_events"] for i in post["event_ids"])
    assert max(carried.values()) == 1, "no message is posted twice"
    assert all(i.startswith(("github:", "jira:", "am:")) for i in carried)
    # Every event is posted, but an alert Alertmanager re-sent unchanged: no news to reply.
    alerts = sum(len(d.body["alerts"]) for d in deliveries if d.source == "alertmanager")
    missing = summary["events"] - sum(carried.values())
    assert 0 <= missing < alerts
    assert sum(1 for i in carried if not i.startswith("am:")) == summary["events"] - alerts

    payloads = [json.loads(line) for line in (output / "posts.jsonl").read_text().splitlines()]
    posts = [p for p in payloads if p.get("method") != "chat.update"]
    assert len(posts) == summary["posts"]
    assert all(p["blocks"] and p["text"] for p in payloads)

    page = (output / "index.html").read_text()
    for channel in channels:
        assert channel in page
        assert channel in stdout
    assert "Slack calls" in stdout and "total" in stdout
    assert "<script" not in page.lower()
    # the CI route's override: a 2-minute window where a quiet channel waits 1 minute at most
    waits = {c["channel"]: c["longest_wait_seconds"] for c in summary["channels"]}
    assert waits["#ci-builds"] == 120 and waits["#deploys"] == 60


def test_demo_messages_keep_the_simulated_time_of_their_events(tmp_path: Path) -> None:
    from slack_batcher.demo.run import run_demo

    deliveries = [d for d in load_deliveries() if d.source == "jira"][:5]
    result = run_demo(tmp_path, deliveries=deliveries)
    assert result.total_events == 5
    post = result.posts[0].message
    assert "Mar 2" in json.dumps(post.blocks)
    assert result.posts[0].posted_at >= DAY_START


def test_the_starter_config_is_the_example_file_and_config_check_accepts_it() -> None:
    assert starter_config() == (REPO / "examples" / "slack-batcher.toml").read_text()
    done = subprocess.run(
        [sys.executable, "-m", "slack_batcher.cli", "config", "check",
         str(REPO / "examples" / "slack-batcher.toml")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


@pytest.mark.timeout(300)
def test_an_installed_wheel_runs_the_demo_and_config_init_outside_the_repo(
    tmp_path: Path,
) -> None:
    """Issue 9 items 11-12: nothing the demo or `config init` needs lives outside the wheel."""
    wheel_dir = tmp_path / "wheel"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "-w", str(wheel_dir), str(REPO)],
        capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    if build.returncode != 0 and "hatchling" in build.stderr:
        build = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(wheel_dir), str(REPO)],
            capture_output=True, text=True, timeout=240, check=False,
        )  # fmt: skip
    assert build.returncode == 0, build.stderr[-2000:]
    [wheel] = list(wheel_dir.glob("*.whl"))
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), str(wheel)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    where = subprocess.run(
        [sys.executable, "-c", "import slack_batcher; print(slack_batcher.__file__)"],
        cwd=work, env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert where.stdout.startswith(str(target)), "the wheel, not the source tree, is imported"
    code = "import sys; from slack_batcher.cli.commands import main; main(sys.argv[1:])"
    for args in (["demo"], ["config", "init"], ["config", "check", "slack-batcher.toml"]):
        done = subprocess.run(
            [sys.executable, "-c", code, *args], cwd=work, env=env,
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, (args, done.stdout[-1000:], done.stderr[-2000:])
    assert (work / "demo-output" / "index.html").exists()
    assert (work / "slack-batcher.toml").read_text() == starter_config()


def test_the_demo_storm_is_a_few_live_digests_that_grow_in_place(
    make_demo: tuple[Path, str],
) -> None:
    output, stdout = make_demo
    storm = json.loads((output / "summary.json").read_text())["storm"]

    assert storm["events"] >= 100
    assert storm["top_level_posts"] <= 3
    assert storm["top_level_posts_without_digests"] > 10 * storm["top_level_posts"]
    assert storm["edits"] > 0 and storm["thread_replies"] > 0
    assert "Storm in #alerts 14:10–14:20" in " ".join(stdout.split())
    page = (output / "index.html").read_text()
    assert "A live digest in #alerts" in page
