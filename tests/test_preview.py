"""The Block Kit → HTML preview: what Slack would show, and never an injection."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from hypothesis import given
from hypothesis import strategies as st

from slack_batcher import SlackMessage
from slack_batcher.http.preview import mrkdwn_to_html, render_message, render_page

ALLOWED_TAGS = {"b", "i", "s", "code", "pre", "a", "span", "br", "div", "img", "hr"}


class TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags_of(html_text: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = TagCollector()
    parser.feed(html_text)
    return parser.tags


def test_mrkdwn_bold_italic_strike_and_code_become_tags() -> None:
    rendered = mrkdwn_to_html("*merged* _today_ ~reverted~ `make test`")
    assert rendered == "<b>merged</b> <i>today</i> <s>reverted</s> <code>make test</code>"


def test_code_spans_and_fences_show_markup_literally() -> None:
    assert mrkdwn_to_html("`*not bold*`") == "<code>*not bold*</code>"
    assert mrkdwn_to_html("```\n<b>x</b>\n```") == "<pre>&lt;b&gt;x&lt;/b&gt;</pre>"


def test_links_mentions_and_entities_render_like_slack() -> None:
    rendered = mrkdwn_to_html(
        "<https://github.com/acme/api/pull/7?a=1&amp;b=2|PR #7> by <@U123> in <#C9|dev> <!here>"
        " &lt;3"
    )
    assert '<a href="https://github.com/acme/api/pull/7?a=1&amp;b=2"' in rendered
    assert ">PR #7</a>" in rendered
    assert "@U123" in rendered and "#dev" in rendered and "@here" in rendered
    assert rendered.endswith("&lt;3")


def test_script_in_message_text_is_shown_as_text() -> None:
    rendered = mrkdwn_to_html("&lt;script&gt;alert(1)&lt;/script&gt; <img src=x onerror=alert(1)>")
    assert "<script" not in rendered
    assert all(tag in ALLOWED_TAGS for tag, _ in tags_of(rendered))
    assert "onerror" not in {name for _, attrs in tags_of(rendered) for name in attrs}


def test_javascript_urls_never_become_links_or_images() -> None:
    rendered = mrkdwn_to_html("<javascript:alert(1)|click me>")
    assert rendered == "click me"
    block = {"type": "image", "image_url": "javascript:alert(1)", "alt_text": "x"}
    assert "<img" not in render_message({"blocks": [block], "text": "x"})


def test_quotes_in_link_targets_cannot_break_out_of_the_attribute() -> None:
    rendered = mrkdwn_to_html('<https://x.dev/"onmouseover="alert(1)|label>')
    assert "onmouseover" not in {name for _, attrs in tags_of(rendered) for name in attrs}


def test_a_batch_message_renders_header_context_sections_and_fields() -> None:
    message = SlackMessage(
        blocks=[
            {"type": "header", "text": {"type": "plain_text", "text": "3 updates in acme/api"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "from *alice*"}]},
            {"type": "section", "text": {"type": "mrkdwn", "text": "• <https://x.dev|Add auth>"}},
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": "*Status*\nIn Review"},
                    {"type": "plain_text", "text": "<b>raw</b>"},
                ],
            },
            {"type": "divider"},
        ],
        text="3 updates in acme/api",
    )
    rendered = render_message(message)
    assert '<div class="sb-header">3 updates in acme/api</div>' in rendered
    assert "from <b>alice</b>" in rendered
    assert ">Add auth</a>" in rendered
    assert "<b>Status</b><br>In Review" in rendered
    assert "&lt;b&gt;raw&lt;/b&gt;" in rendered
    assert '<hr class="sb-divider">' in rendered


def test_continuation_pages_show_as_a_thread() -> None:
    page2 = SlackMessage(blocks=[], text="page two")
    message = SlackMessage(blocks=[], text="page one", continuations=[page2])
    rendered = render_message(message)
    assert rendered.index("page one") < rendered.index('class="sb-thread"')
    assert rendered.index('class="sb-thread"') < rendered.index("page two")


def test_a_page_names_every_section_and_escapes_titles() -> None:
    page = render_page([("#dev-api", [{"text": "hello"}]), ("<#ci>", [])], title="Demo <posts>")
    assert page.startswith("<!doctype html>")
    assert "#dev-api" in page and "&lt;#ci&gt;" in page
    assert "<title>Demo &lt;posts&gt;</title>" in page


TRICKY = st.text(alphabet="<>|*_~`&;:/@#!\"' \nhtps.=javscrio()", max_size=80)


@given(st.one_of(st.text(max_size=200), TRICKY))
def test_no_text_can_produce_a_tag_outside_the_fixed_set(text: str) -> None:
    rendered = mrkdwn_to_html(text)
    for tag, attrs in tags_of(rendered):
        assert tag in ALLOWED_TAGS
        assert set(attrs) <= {"href", "target", "rel", "class"}
        href = attrs.get("href")
        if href is not None:
            assert re.match(r"^(https?://|mailto:)", href, re.I)
