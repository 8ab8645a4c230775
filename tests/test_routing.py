"""The route table: first match, continue, drop, globs, labels, bot, no match, config errors."""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slack_batcher import BatchableMessage, BatchConfig, ConfigError
from slack_batcher.http.settings import check_settings, load_settings
from slack_batcher.routing.table import parse_routes
from slack_batcher.sources import SourceEvent


def ev(source: str = "github", event: str = "pull_request", **attrs: Any) -> SourceEvent:
    message = BatchableMessage(id="m-1", content_type="generic")
    return SourceEvent(message, source, event, **attrs)


def channels(routes: list[dict[str, Any]], event: SourceEvent) -> tuple[str, ...]:
    return parse_routes(routes).route(event).channels


def test_the_first_matching_route_wins() -> None:
    routes = [
        {"source": "github", "repository": "acme/api", "channel": "#dev-api"},
        {"source": "github", "channel": "#dev"},
    ]
    assert channels(routes, ev(repository="acme/api")) == ("#dev-api",)
    assert channels(routes, ev(repository="acme/web")) == ("#dev",)


def test_continue_also_sends_to_later_matching_routes() -> None:
    routes = [
        {"source": "alertmanager", "severity": "critical", "channel": "#oncall", "continue": True},
        {"source": "alertmanager", "channels": ["#alerts", "#oncall"]},
    ]
    decision = parse_routes(routes).route(ev("alertmanager", "alert", severity="critical"))
    assert decision.channels == ("#oncall", "#alerts")
    assert decision.routes == (0, 1)
    assert channels(routes, ev("alertmanager", "alert", severity="info")) == ("#alerts", "#oncall")


def test_a_drop_route_discards_what_it_matches() -> None:
    routes = [{"source": "github", "bot": True, "drop": True}, {"channel": "#all"}]
    decision = parse_routes(routes).route(ev(bot=True))
    assert decision.dropped and decision.channels == ()
    assert channels(routes, ev(bot=False)) == ("#all",)


def test_globs_are_case_insensitive_and_lists_mean_any_of() -> None:
    routes = [
        {"repository": "acme/*", "event": ["workflow_run", "check_suite"], "channel": "#ci"},
        {"project": "OPS*", "channel": "#ops"},
    ]
    assert channels(routes, ev(event="check_suite", repository="Acme/API")) == ("#ci",)
    assert channels(routes, ev(event="push", repository="acme/api")) == ()
    assert channels(routes, ev("jira", "jira:issue_created", project="OPSX")) == ("#ops",)


def test_labels_must_all_match_and_a_missing_label_does_not() -> None:
    routes = [{"labels": {"team": "payments", "env": "prod*"}, "channel": "#payments"}]
    both = ev("alertmanager", "alert", labels={"team": "payments", "env": "production"})
    assert channels(routes, both) == ("#payments",)
    assert channels(routes, ev("alertmanager", "alert", labels={"team": "payments"})) == ()


def test_action_and_author_match_keys() -> None:
    routes = [{"action": "closed", "author": "alice", "channel": "#a"}]
    assert channels(routes, ev(action="closed", author="Alice")) == ("#a",)
    assert channels(routes, ev(action="opened", author="alice")) == ()


def test_no_matching_route_is_unrouted_and_a_route_without_keys_catches_everything() -> None:
    table = parse_routes([{"source": "jira", "channel": "#jira"}])
    assert table.route(ev()).unrouted
    catch_all = parse_routes([{"source": "jira", "channel": "#jira"}, {"channel": "#misc"}])
    assert catch_all.route(ev()).channels == ("#misc",)
    assert not catch_all.route(ev()).unrouted


@pytest.mark.parametrize(
    ("route", "problem"),
    [
        ({"channel": "#a", "colour": "red"}, "routes[0].colour: unknown setting"),
        ({"source": "gitlab", "channel": "#a"}, "routes[0].source: 'gitlab' matches no source"),
        ({"source": "github"}, "routes[0].channel: required (or drop = true)"),
        ({"channel": "a/b"}, "routes[0].channel: expected a Slack channel"),
        ({"channel": "#a", "channels": ["#b"]}, "routes[0].channels: give channel or channels"),
        ({"channel": "#a", "bot": "yes"}, "routes[0].bot: must be true or false"),
        ({"channel": "#a", "max_batch_size": 0}, "routes[0].max_batch_size: must be a whole"),
        ({"channel": "#a", "drop": True}, "routes[0].drop: a dropping route takes no channel"),
        ({"channel": "#a", "event": []}, "routes[0].event: expected a non-empty string"),
        ({"channel": "#a", "labels": "x"}, "routes[0].labels: expected a table"),
    ],
)
def test_config_errors_name_the_key(route: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_routes([route])
    assert any(p.startswith(problem) for p in raised.value.problems), raised.value.problems


def test_a_bad_route_in_the_toml_file_is_named_with_its_index(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[[routes]]\nchannel = "#a"\n[[routes]]\nsource = "jira"\nchanel = "#b"\n')
    problems = check_settings(path)
    assert "routes[1].chanel: unknown setting" in problems
    assert "routes[1].channel: required (or drop = true)" in problems


def test_secrets_come_from_the_file_or_the_environment_and_blank_means_disabled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[sources.github]\nsecret = "from-file"\n[sources.jira]\nsecret = "  "\n')
    monkeypatch.setenv("SLACK_BATCHER_SOURCES__ALERTMANAGER__TOKEN", "from-env")
    settings = load_settings(path)
    assert settings.sources.credential("github") == "from-file"
    assert settings.sources.credential("alertmanager") == "from-env"
    assert settings.sources.credential("jira") is None
    assert settings.sources.enabled() == ["github", "alertmanager"]
    assert "from-file" not in repr(settings)


def test_per_route_overrides_become_channel_configs_first_route_wins() -> None:
    table = parse_routes(
        [
            {"source": "github", "channel": "#ci", "max_batch_size": 10},
            {"source": "jira", "channel": "#ci", "max_batch_size": 3},
            {"channel": "#misc", "similarity_threshold": 0.5, "items_per_page": 10},
        ]
    )
    configs = table.channel_configs(BatchConfig(max_batch_age_minutes=7))
    assert configs["#ci"].max_batch_size == 10
    assert configs["#ci"].max_batch_age_minutes == 7
    assert configs["#misc"].similarity_threshold == 0.5
    warnings = table.warnings()
    assert any("routes[1]" in w and "'#ci'" in w and "routes[0]" in w for w in warnings)


def test_warnings_when_there_is_no_catch_all_or_no_route_at_all() -> None:
    assert any(
        "no catch-all" in w for w in parse_routes([{"source": "jira", "channel": "#j"}]).warnings()
    )
    assert not parse_routes([{"channel": "#all"}]).warnings()
    assert any("no [[routes]]" in w for w in parse_routes([]).warnings(sources_enabled=True))
    assert parse_routes([]).warnings(sources_enabled=False) == []


def test_routes_round_trip_through_their_table_form() -> None:
    raw = [
        {
            "name": "ci",
            "source": "github",
            "event": ["workflow_run", "check_suite"],
            "channels": ["#ci"],
            "max_batch_size": 10,
            "continue": True,
        },
        {"labels": {"team": "pay*"}, "bot": False, "drop": True},
    ]
    table = parse_routes(raw)
    assert parse_routes(table.to_list()) == table


def test_the_service_batches_a_routes_channels_by_its_overrides(tmp_path: Path) -> None:
    from slack_batcher import MemoryStore
    from slack_batcher.delivery.console import ConsoleSender
    from slack_batcher.http.server import build_service

    path = tmp_path / "c.toml"
    path.write_text(
        '[[routes]]\nsource = "github"\nchannel = "#ci"\nmax_batch_size = 2\n'
        'max_batch_age_minutes = 30\n[[routes]]\nchannel = "#misc"\n'
    )
    service = build_service(load_settings(path), store=MemoryStore(), sender=ConsoleSender())
    batcher = service.batcher
    assert batcher.config_for("#ci").max_batch_size == 2
    assert batcher.config_for("#ci").max_batch_age_minutes == 30
    assert batcher.config_for("#misc").max_batch_size == 5
    first = BatchableMessage(id="a", content_type="ci_build", data={"repository": "r"})
    second = BatchableMessage(id="b", content_type="ci_build", data={"repository": "r"})
    assert batcher.add_message(first, "#ci") is None
    assert batcher.add_message(second, "#ci") is not None  # full at 2, not 5
    batcher.close()


# ------------------------------------------------------------------------ properties

WORDS = st.sampled_from(["github", "jira", "alertmanager", "api"])
NAMES = st.sampled_from(["a", "b", "ab", "acme/api", "acme/web"])
PATTERNS = st.sampled_from(["a", "b", "a*", "*", "acme/*", "?b"])
ROUTE = st.fixed_dictionaries(
    {"channel": st.sampled_from(["#1", "#2", "#3"])},
    optional={
        "source": WORDS,
        "repository": PATTERNS,
        "author": st.lists(PATTERNS, min_size=1, max_size=2),
        "bot": st.booleans(),
        "continue": st.booleans(),
        "labels": st.dictionaries(st.sampled_from(["team", "env"]), PATTERNS, max_size=2),
    },
)
EVENT = st.builds(
    lambda source, repository, author, bot, labels: ev(
        source, "e", repository=repository, author=author, bot=bot, labels=labels
    ),
    WORDS,
    NAMES,
    NAMES,
    st.booleans(),
    st.dictionaries(st.sampled_from(["team", "env"]), NAMES, max_size=2),
)


def _reference(routes: list[dict[str, Any]], event: SourceEvent) -> list[str]:
    """Routing as docs/sources.md words it, written the plain way."""

    def holds(pattern: Any, value: str) -> bool:
        patterns = pattern if isinstance(pattern, list) else [pattern]
        return any(fnmatchcase(value.lower(), p.lower()) for p in patterns)

    chosen: list[str] = []
    for route in routes:
        keys = [k for k in ("source", "repository", "author") if k in route]
        if not all(holds(route[k], getattr(event, k)) for k in keys):
            continue
        if "bot" in route and route["bot"] != event.bot:
            continue
        labels = route.get("labels", {})
        if not all(n in event.labels and holds(p, event.labels[n]) for n, p in labels.items()):
            continue
        if route["channel"] not in chosen:
            chosen.append(route["channel"])
        if not route.get("continue"):
            break
    return chosen


@settings(max_examples=300, deadline=None)
@given(routes=st.lists(ROUTE, max_size=6), event=EVENT)
def test_routing_matches_its_plain_definition(
    routes: list[dict[str, Any]], event: SourceEvent
) -> None:
    decision = parse_routes(routes).route(event)
    assert list(decision.channels) == _reference(routes, event)
    assert decision.unrouted == (not decision.routes)
