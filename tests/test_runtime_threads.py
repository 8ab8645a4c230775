"""Thread keys: which earlier post a later batch about the same thing replies to."""

from __future__ import annotations

from slack_batcher import BatchableMessage, ContentType
from slack_batcher.model.thread_keys import batch_thread_key, message_thread_key

from .factories import alert, jira, pr


def test_a_pull_request_is_keyed_by_repository_and_number() -> None:
    assert message_thread_key(pr("e1", repo="Acme/API", number=42)) == "pr:acme/api#42"


def test_a_jira_ticket_is_keyed_by_its_key_and_an_alert_by_name_and_service() -> None:
    assert message_thread_key(jira("j1", key="API-7")) == "jira:api-7"
    assert message_thread_key(alert("a1", name="HighLatency", service="api")) == (
        "alert:highlatency:api"
    )


def test_metadata_overrides_the_derived_key_and_an_empty_one_opts_out() -> None:
    tagged = BatchableMessage(
        id="x", content_type=ContentType.GENERIC, metadata={"thread_key": "incident-9"}
    )
    opted_out = pr("e1")
    opted_out.metadata["thread_key"] = ""
    assert message_thread_key(tagged) == "incident-9"
    assert message_thread_key(opted_out) is None


def test_a_batch_has_a_key_only_when_all_its_messages_share_it() -> None:
    assert batch_thread_key([pr("e1", number=1), pr("e2", number=1)]) == "pr:acme/api#1"
    assert batch_thread_key([pr("e1", number=1), pr("e2", number=2)]) is None
    assert batch_thread_key([BatchableMessage(id="g", content_type=ContentType.GENERIC)]) is None
