"""The one-pass PR/JIRA item lines read exactly as the built-in formatter and item_lines do."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slack_batcher import BatchableMessage, ContentType, FormatOptions
from slack_batcher.formatting.builtin_lines import BUILTIN_LINES
from slack_batcher.formatting.items import DEFAULT_ITEM_FORMATTERS
from slack_batcher.formatting.render import item_lines
from tests.factories import T0

#: Strings that take every branch: blank, padded, escaped, long, a URL or not.
TEXT = st.one_of(
    st.sampled_from(
        [
            "",
            "  ",
            " review_requested ",
            "In Progress",
            "Don't <b> & @channel",
            "x" * 3001,
            "#42",
            "https://github.com/acme/api/pull/1?a=1&b=2",
            "HTTPS://EXAMPLE.COM/x",
            "/relative/path",
            "https://ok.example/has space",
            "Übersetzung 🚀",
        ]
    ),
    st.text(max_size=20),
)
VALUE = st.one_of(
    TEXT, st.integers(-5, 10**6), st.booleans(), st.none(), st.lists(TEXT, max_size=2)
)
KEYS = [
    "repository",
    "repo",
    "number",
    "pr_number",
    "title",
    "action",
    "state",
    "status",
    "url",
    "key",
    "issue_key",
    "ticket",
    "summary",
    "previous_status",
    "from_status",
    "project",
]
DATA = st.dictionaries(st.sampled_from(KEYS), VALUE, max_size=8)
OPTIONS = st.builds(
    FormatOptions,
    compact=st.booleans(),
    emoji=st.booleans(),
    base_urls=st.sampled_from([{}, {"github": "https://gh.example", "jira": "https://j.example/"}]),
    user_ids=st.sampled_from([{}, {"alice": "U0ALICE"}]),
)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    kind=st.sampled_from([ContentType.PR_UPDATE, ContentType.JIRA_UPDATE]),
    data=DATA,
    author=st.sampled_from([None, "alice", "Bob <b>", "carol"]),
    priority=st.sampled_from(["critical", "high", "medium", "low"]),
    minutes=st.integers(0, 3000),
    options=OPTIONS,
)
def test_one_pass_lines_equal_the_formatter_and_item_lines(
    kind: ContentType,
    data: dict[str, Any],
    author: str | None,
    priority: str,
    minutes: int,
    options: FormatOptions,
) -> None:
    message = BatchableMessage(
        "m-1",
        kind,
        timestamp=T0 + timedelta(minutes=minutes),
        author=author,
        priority=priority,
        data=data,
    )
    view = DEFAULT_ITEM_FORMATTERS[kind](message, options)
    expected = (view.label, view.title, view.scope, *item_lines(message, view, options, True))
    assert BUILTIN_LINES[kind](message, options) == expected
    # The built-in formatters hand over checked URLs: checking again changes nothing.
    assert item_lines(message, view, options, False) == expected[3:]
